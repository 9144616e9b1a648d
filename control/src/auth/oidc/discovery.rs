//! The provider's discovery document (OpenID Connect Discovery 1.0): where
//! to send the browser, where to trade the code, where the signing keys
//! are. It is fetched from `{issuer}/.well-known/openid-configuration` and
//! checked before anything trusts it.

use serde::Deserialize;
use url::Url;

use super::config::check_url;

/// How the platform proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and
    /// secret (the default when the provider does not say).
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post,
}

/// A checked discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The issuer; equal to the configured one, and what ID tokens' `iss`
    /// must say.
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: Url,
    /// Where the code is traded for tokens.
    pub token_endpoint: Url,
    /// The provider's signing keys (a JWK set).
    pub jwks_uri: Url,
    /// How to authenticate at the token endpoint.
    pub client_auth: ClientAuth,
}

/// Why a discovery document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// Not JSON, or fields of the wrong type.
    #[error("it is not a valid discovery document ({0})")]
    Malformed(String),
    /// The issuer is not the configured one.
    #[error("it names the issuer {found:?} instead of {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// What the document says.
        found: String,
    },
    /// A required field is absent.
    #[error("it has no {0}")]
    Missing(&'static str),
    /// An endpoint URL is not acceptable.
    #[error("its {field} is not usable: {reason}")]
    BadUrl {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// It lists PKCE methods, and S256 is not one.
    #[error("it does not support PKCE with S256")]
    NoS256,
    /// It lists token endpoint authentication methods, and neither
    /// `client_secret_basic` nor `client_secret_post` is one.
    #[error("it supports neither client_secret_basic nor client_secret_post")]
    NoClientAuth,
}

#[derive(Deserialize)]
struct Raw {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    jwks_uri: Option<String>,
    code_challenge_methods_supported: Option<Vec<String>>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// Where the discovery document of `issuer` is.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Parses and checks a discovery document: the issuer must be exactly
/// `expected_issuer`; the authorization, token and JWKS endpoints must be
/// there and be `https://` (or loopback `http://`); S256 must be among the
/// PKCE methods when the provider lists them.
pub fn parse(body: &[u8], expected_issuer: &str) -> Result<Discovery, DiscoveryError> {
    let raw: Raw =
        serde_json::from_slice(body).map_err(|e| DiscoveryError::Malformed(e.to_string()))?;
    let issuer = raw.issuer.ok_or(DiscoveryError::Missing("issuer"))?;
    if issuer != expected_issuer {
        return Err(DiscoveryError::IssuerMismatch {
            expected: expected_issuer.to_owned(),
            found: issuer,
        });
    }
    if let Some(methods) = &raw.code_challenge_methods_supported {
        if !methods.iter().any(|m| m == "S256") {
            return Err(DiscoveryError::NoS256);
        }
    }
    Ok(Discovery {
        issuer,
        authorization_endpoint: endpoint(raw.authorization_endpoint, "authorization_endpoint")?,
        token_endpoint: endpoint(raw.token_endpoint, "token_endpoint")?,
        jwks_uri: endpoint(raw.jwks_uri, "jwks_uri")?,
        client_auth: client_auth(raw.token_endpoint_auth_methods_supported.as_deref())?,
    })
}

fn endpoint(value: Option<String>, field: &'static str) -> Result<Url, DiscoveryError> {
    let value = value.ok_or(DiscoveryError::Missing(field))?;
    check_url(&value).map_err(|reason| DiscoveryError::BadUrl { field, reason })
}

/// Basic when listed or when the provider does not say (the spec's
/// default), else post when listed.
fn client_auth(methods: Option<&[String]>) -> Result<ClientAuth, DiscoveryError> {
    let Some(methods) = methods else {
        return Ok(ClientAuth::Basic);
    };
    if methods.iter().any(|m| m == "client_secret_basic") {
        Ok(ClientAuth::Basic)
    } else if methods.iter().any(|m| m == "client_secret_post") {
        Ok(ClientAuth::Post)
    } else {
        Err(DiscoveryError::NoClientAuth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const ISS: &str = "https://id.example.com";

    fn doc() -> Value {
        json!({
            "issuer": ISS,
            "authorization_endpoint": "https://id.example.com/authorize",
            "token_endpoint": "https://id.example.com/token",
            "jwks_uri": "https://id.example.com/jwks",
            "code_challenge_methods_supported": ["plain", "S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "response_types_supported": ["code"],
        })
    }

    fn parse_value(v: &Value) -> Result<Discovery, DiscoveryError> {
        parse(v.to_string().as_bytes(), ISS)
    }

    #[test]
    fn a_good_document() {
        let d = parse_value(&doc()).unwrap();
        assert_eq!(d.issuer, ISS);
        assert_eq!(d.token_endpoint.as_str(), "https://id.example.com/token");
        assert_eq!(d.client_auth, ClientAuth::Post);
        assert_eq!(
            discovery_url("https://id.example.com/"),
            "https://id.example.com/.well-known/openid-configuration"
        );
    }

    #[test]
    fn the_issuer_must_be_the_configured_one() {
        let mut v = doc();
        v["issuer"] = json!("https://evil.example.com");
        assert!(matches!(
            parse_value(&v),
            Err(DiscoveryError::IssuerMismatch { .. })
        ));
        v["issuer"] = json!("https://id.example.com/");
        assert!(matches!(
            parse_value(&v),
            Err(DiscoveryError::IssuerMismatch { .. })
        ));
    }

    #[test]
    fn endpoints_are_required_and_https() {
        for field in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
        ] {
            let mut v = doc();
            v.as_object_mut().unwrap().remove(field);
            assert_eq!(parse_value(&v), Err(DiscoveryError::Missing(field)));
        }
        let mut v = doc();
        v["token_endpoint"] = json!("http://id.example.com/token");
        assert!(matches!(
            parse_value(&v),
            Err(DiscoveryError::BadUrl {
                field: "token_endpoint",
                ..
            })
        ));
        assert!(matches!(
            parse(b"<html>", ISS),
            Err(DiscoveryError::Malformed(_))
        ));
    }

    #[test]
    fn s256_is_required_when_methods_are_listed() {
        let mut v = doc();
        v["code_challenge_methods_supported"] = json!(["plain"]);
        assert_eq!(parse_value(&v), Err(DiscoveryError::NoS256));
        v.as_object_mut()
            .unwrap()
            .remove("code_challenge_methods_supported");
        assert!(parse_value(&v).is_ok());
    }

    #[test]
    fn client_authentication_choice() {
        let mut v = doc();
        v["token_endpoint_auth_methods_supported"] =
            json!(["client_secret_post", "client_secret_basic"]);
        assert_eq!(parse_value(&v).unwrap().client_auth, ClientAuth::Basic);
        v["token_endpoint_auth_methods_supported"] = json!(["private_key_jwt"]);
        assert_eq!(parse_value(&v), Err(DiscoveryError::NoClientAuth));
        v.as_object_mut()
            .unwrap()
            .remove("token_endpoint_auth_methods_supported");
        assert_eq!(parse_value(&v).unwrap().client_auth, ClientAuth::Basic);
    }
}
