//! A provider as the operator configures it, with its command-line form:
//!
//! ```text
//! name=google,issuer=https://accounts.google.com,client-id=ID,client-secret-env=GOOGLE_SECRET
//! name=corp,label=Corp SSO,issuer=https://id.example.com,client-id=ID,client-secret=SECRET,scopes=openid email profile
//! ```
//!
//! Fields are `key=value`, separated by commas (so values cannot hold
//! one). `name`, `issuer`, `client-id` and one of `client-secret` or
//! `client-secret-env` (the name of an environment variable that holds the
//! secret, which keeps it off the command line) are required; `label`
//! (the button's text; default: the name, capitalised) and `scopes`
//! (separated by spaces or `+`; `openid` and `email` are always asked for;
//! default `openid email profile`) are optional.
//!
//! The issuer must be `https://`, except on the loopback interface
//! (`http://127.0.0.1`, `http://localhost`, `http://[::1]`), which is
//! allowed for tests and local development.

use std::fmt;
use std::str::FromStr;

use url::{Host, Url};

/// The longest provider name.
pub const MAX_NAME_LEN: usize = 32;

/// One OpenID Connect provider the platform offers sign-in with.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Short name, `[a-z0-9-]`: it appears in the URLs
    /// (`/auth/oidc/{name}`) and in the redirect URI registered with the
    /// provider.
    pub name: String,
    /// What the sign-in button says ("Google").
    pub label: String,
    /// The issuer URL exactly as the provider's discovery document and ID
    /// tokens state it (`https://accounts.google.com`; for Microsoft, the
    /// tenant's `https://login.microsoftonline.com/{tenant-id}/v2.0`).
    pub issuer: String,
    /// The client id the provider issued to this platform.
    pub client_id: String,
    /// The client secret. Never printed ([`fmt::Debug`] hides it).
    pub client_secret: String,
    /// The scopes asked for; always holds `openid` and `email`.
    pub scopes: Vec<String>,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("label", &self.label)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<hidden>")
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// Why a provider's configuration was refused. The secret never appears.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A part is not `key=value`.
    #[error("{0:?} is not key=value (fields are separated by commas)")]
    NotKeyValue(String),
    /// A key that is not one of the known fields.
    #[error("unknown field {0:?} (known: name, label, issuer, client-id, client-secret, client-secret-env, scopes)")]
    UnknownField(String),
    /// A field given twice.
    #[error("the field {0} is given twice")]
    Repeated(String),
    /// A required field is missing or empty.
    #[error("the field {0} is required")]
    Missing(&'static str),
    /// Both `client-secret` and `client-secret-env`.
    #[error("give client-secret or client-secret-env, not both")]
    TwoSecrets,
    /// The environment variable named by `client-secret-env` is unset or
    /// empty.
    #[error("the environment variable {0} (client-secret-env) is not set")]
    SecretEnvUnset(String),
    /// The name breaks the rules.
    #[error("the name {0:?} must be 1 to 32 characters from a-z, 0-9 and '-'")]
    BadName(String),
    /// The issuer is not an acceptable URL.
    #[error("the issuer {url:?} is not valid: {reason}")]
    BadIssuer {
        /// The issuer as given.
        url: String,
        /// Why.
        reason: String,
    },
}

impl FromStr for ProviderConfig {
    type Err = ConfigError;

    /// Parses the command-line form, reading `client-secret-env` from the
    /// process environment.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProviderConfig::parse_with_env(s, |var| std::env::var(var).ok())
    }
}

/// The fields of the command-line form, as given.
#[derive(Default)]
struct Fields<'a> {
    name: Option<&'a str>,
    label: Option<&'a str>,
    issuer: Option<&'a str>,
    client_id: Option<&'a str>,
    client_secret: Option<&'a str>,
    client_secret_env: Option<&'a str>,
    scopes: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn parse(s: &'a str) -> Result<Fields<'a>, ConfigError> {
        let mut fields = Fields::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| ConfigError::NotKeyValue(part.to_owned()))?;
            let (key, value) = (key.trim(), value.trim());
            let slot = match key {
                "name" => &mut fields.name,
                "label" => &mut fields.label,
                "issuer" => &mut fields.issuer,
                "client-id" => &mut fields.client_id,
                "client-secret" => &mut fields.client_secret,
                "client-secret-env" => &mut fields.client_secret_env,
                "scopes" => &mut fields.scopes,
                _ => return Err(ConfigError::UnknownField(key.to_owned())),
            };
            if slot.replace(value).is_some() {
                return Err(ConfigError::Repeated(key.to_owned()));
            }
        }
        Ok(fields)
    }
}

fn required<'a>(value: Option<&'a str>, field: &'static str) -> Result<&'a str, ConfigError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing(field))
}

impl ProviderConfig {
    /// Parses the command-line form (see the module docs), looking
    /// `client-secret-env` up with `env`.
    pub fn parse_with_env(
        s: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ProviderConfig, ConfigError> {
        let f = Fields::parse(s)?;
        let name = required(f.name, "name")?;
        check_name(name)?;
        let issuer = required(f.issuer, "issuer")?;
        check_issuer(issuer).map_err(|reason| ConfigError::BadIssuer {
            url: issuer.to_owned(),
            reason,
        })?;
        let client_id = required(f.client_id, "client-id")?;
        let client_secret = match (f.client_secret, f.client_secret_env) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoSecrets),
            (Some(secret), None) => required(Some(secret), "client-secret")?.to_owned(),
            (None, Some(var)) => {
                let var = required(Some(var), "client-secret-env")?;
                env(var)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| ConfigError::SecretEnvUnset(var.to_owned()))?
            }
            (None, None) => return Err(ConfigError::Missing("client-secret")),
        };
        Ok(ProviderConfig {
            name: name.to_owned(),
            label: match f.label.filter(|l| !l.is_empty()) {
                Some(label) => label.to_owned(),
                None => capitalised(name),
            },
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            scopes: scopes(f.scopes),
        })
    }
}

/// Checks a provider name: 1 to 32 characters from `[a-z0-9-]`.
pub fn check_name(name: &str) -> Result<(), ConfigError> {
    let ok = (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::BadName(name.to_owned()))
    }
}

/// `openid` and `email` first, then the others given, each once.
fn scopes(given: Option<&str>) -> Vec<String> {
    let given = given.unwrap_or("profile");
    let mut out = vec!["openid".to_owned(), "email".to_owned()];
    for scope in given.split([' ', '+']).filter(|s| !s.is_empty()) {
        if !out.iter().any(|s| s == scope) {
            out.push(scope.to_owned());
        }
    }
    out
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Checks an issuer: as [`check_url`], and without a query.
pub fn check_issuer(s: &str) -> Result<Url, String> {
    let url = check_url(s)?;
    match url.query() {
        Some(_) => Err("an issuer has no query".into()),
        None => Ok(url),
    }
}

/// Checks a URL the platform will fetch or send browsers to: `https://`,
/// or `http://` on the loopback interface only; no query, fragment or
/// credentials. Returns the parsed URL or why not.
pub fn check_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| e.to_string())?;
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("it has no host".into()),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("it must use https (http is allowed on loopback only)".into()),
        other => return Err(format!("the scheme {other} is not https")),
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("it must not have a fragment or credentials".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ProviderConfig, ConfigError> {
        ProviderConfig::parse_with_env(s, |var| (var == "G_SECRET").then(|| "from-env".into()))
    }

    #[test]
    fn the_command_line_form() {
        let p = parse(
            "name=google,issuer=https://accounts.google.com,client-id=abc.apps,client-secret=s=cret",
        )
        .unwrap();
        assert_eq!(p.name, "google");
        assert_eq!(p.label, "Google");
        assert_eq!(p.issuer, "https://accounts.google.com");
        assert_eq!(p.client_id, "abc.apps");
        assert_eq!(p.client_secret, "s=cret");
        assert_eq!(p.scopes, ["openid", "email", "profile"]);
        assert!(!format!("{p:?}").contains("s=cret"));

        let p = parse(
            " name=corp-2 , label=Corp SSO, issuer=http://127.0.0.1:9000/realm,\
             client-id=x,client-secret-env=G_SECRET,scopes=groups+email openid",
        )
        .unwrap();
        assert_eq!(p.label, "Corp SSO");
        assert_eq!(p.client_secret, "from-env");
        assert_eq!(p.scopes, ["openid", "email", "groups"]);
    }

    #[test]
    fn clear_errors() {
        let base = "issuer=https://id.example.com,client-id=x,client-secret=y";
        let cases: [(String, ConfigError); 10] = [
            (base.into(), ConfigError::Missing("name")),
            (
                format!("name=Google,{base}"),
                ConfigError::BadName("Google".into()),
            ),
            (
                format!("name=a_b,{base}"),
                ConfigError::BadName("a_b".into()),
            ),
            (
                format!("name=g,{base},colour=red"),
                ConfigError::UnknownField("colour".into()),
            ),
            (
                format!("name=g,{base},name=h"),
                ConfigError::Repeated("name".into()),
            ),
            (
                format!("name=g,{base},oops"),
                ConfigError::NotKeyValue("oops".into()),
            ),
            (
                "name=g,issuer=https://id.example.com,client-id=x".into(),
                ConfigError::Missing("client-secret"),
            ),
            (
                format!("name=g,{base},client-secret-env=G_SECRET"),
                ConfigError::TwoSecrets,
            ),
            (
                "name=g,issuer=https://i.example.com,client-id=x,client-secret-env=NOPE".into(),
                ConfigError::SecretEnvUnset("NOPE".into()),
            ),
            (
                "name=g,issuer=https://i.example.com,client-id=,client-secret=y".into(),
                ConfigError::Missing("client-id"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(&input).unwrap_err(), want, "{input}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert!(parse(&format!("name={long},{base}")).is_err());
    }

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        for ok in [
            "https://accounts.google.com",
            "https://login.microsoftonline.com/tenant/v2.0",
            "http://127.0.0.1:4000",
            "http://localhost:4000/x",
            "http://[::1]:80",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://accounts.google.com",
            "http://10.0.0.1",
            "ftp://localhost",
            "https://user:pw@id.example.com",
            "https://id.example.com/#x",
            "not a url",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        for bad in ["http://id.example.com", "https://id.example.com/?tenant=x"] {
            let err = parse(&format!("name=g,issuer={bad},client-id=x,client-secret=y"));
            assert!(matches!(err, Err(ConfigError::BadIssuer { .. })), "{bad}");
        }
    }
}
