//! The async shell: [`Oidc`] holds the providers, fetches their discovery
//! documents and keys (cached), keeps the sign-ins under way, and runs the
//! two halves of a sign-in, [`Oidc::begin`] and [`Oidc::finish`], on the
//! pure parts of this module.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use url::Url;

use super::authorize::{authorization_url, AuthorizeRequest};
use super::config::{check_issuer, check_name, ProviderConfig};
use super::discovery::{self, Discovery};
use super::http;
use super::id_token::{self, Expected, IdTokenError, Identity, Jwks};
use super::pending::{Pending, PendingLogins, TakeError, DEFAULT_CAPACITY};
use super::pkce::{challenge_s256, random_token};
use super::token::{parse_token_response, token_request, Exchange};
use super::OidcError;
use crate::auth::same_secret;

/// A started sign-in: send the browser to `authorize_url`, and set
/// `state` in a short-lived `HttpOnly` cookie so that the callback can
/// check it is the same browser. The cookie must be `SameSite=Lax`, not
/// `Strict` (the provider's redirect back is a cross-site navigation,
/// which `Strict` cookies do not follow), and need not outlive
/// [`PENDING_LIFETIME_SECS`](super::pending::PENDING_LIFETIME_SECS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Begun {
    /// The provider's authorization URL with every parameter.
    pub authorize_url: String,
    /// The sign-in's `state` (also in the URL).
    pub state: String,
}

/// Seconds since the Unix epoch.
type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// OpenID Connect sign-in with the configured providers. Cheap to clone
/// (clones share everything).
#[derive(Clone)]
pub struct Oidc {
    inner: Arc<Inner>,
    clock: Clock,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("base_url", &self.inner.base_url)
            .field("providers", &self.providers())
            .finish_non_exhaustive()
    }
}

struct Inner {
    base_url: String,
    providers: Vec<Provider>,
    http: reqwest::Client,
    pending: Mutex<PendingLogins>,
}

struct Provider {
    config: ProviderConfig,
    redirect_uri: String,
    discovery: Mutex<Option<Arc<Discovery>>>,
    jwks: Mutex<Option<Arc<Jwks>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn system_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random() -> Result<String, OidcError> {
    random_token().map_err(|e| OidcError::Random(e.to_string()))
}

/// `base_url` without a trailing slash, if it is an http(s) URL with no
/// query or fragment.
fn check_base_url(base_url: &str) -> Result<String, OidcError> {
    let bad = |why: &str| OidcError::Setup(format!("the public URL {base_url:?} {why}"));
    let url = Url::parse(base_url).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad("must be an http:// or https:// URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(base_url.trim_end_matches('/').to_owned())
}

impl Oidc {
    /// Sign-in with `providers`, for a platform whose public URL is
    /// `base_url` (`https://gsp.example.com`): each provider's redirect URI
    /// is `{base_url}/auth/oidc/{name}/callback`, which must be registered
    /// with the provider. Nothing is fetched yet.
    pub fn new(base_url: &str, providers: Vec<ProviderConfig>) -> Result<Oidc, OidcError> {
        let base_url = check_base_url(base_url)?;
        let mut checked: Vec<Provider> = Vec::with_capacity(providers.len());
        for config in providers {
            check_name(&config.name).map_err(|e| OidcError::Setup(e.to_string()))?;
            check_issuer(&config.issuer).map_err(|reason| {
                OidcError::Setup(format!(
                    "the issuer of {} is not valid: {reason}",
                    config.name
                ))
            })?;
            if checked.iter().any(|p| p.config.name == config.name) {
                return Err(OidcError::Setup(format!(
                    "two providers are called {}",
                    config.name
                )));
            }
            checked.push(Provider {
                redirect_uri: format!("{base_url}/auth/oidc/{}/callback", config.name),
                config,
                discovery: Mutex::new(None),
                jwks: Mutex::new(None),
            });
        }
        Ok(Oidc {
            inner: Arc::new(Inner {
                base_url,
                providers: checked,
                http: http::client().map_err(OidcError::Setup)?,
                pending: Mutex::new(PendingLogins::new(DEFAULT_CAPACITY)),
            }),
            clock: Arc::new(system_now),
        })
    }

    /// The same, telling time (seconds since the Unix epoch) with `clock`:
    /// for tests of expiry.
    pub fn with_clock(self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Oidc {
        Oidc {
            inner: self.inner,
            clock: Arc::new(clock),
        }
    }

    /// The providers as `(name, label)`, in the configured order: the
    /// sign-in buttons.
    pub fn providers(&self) -> Vec<(String, String)> {
        self.inner
            .providers
            .iter()
            .map(|p| (p.config.name.clone(), p.config.label.clone()))
            .collect()
    }

    /// The redirect URI of `provider` (to register with it), if configured.
    pub fn redirect_uri(&self, provider: &str) -> Option<String> {
        self.provider(provider).ok().map(|p| p.redirect_uri.clone())
    }

    fn provider(&self, name: &str) -> Result<&Provider, OidcError> {
        self.inner
            .providers
            .iter()
            .find(|p| p.config.name == name)
            .ok_or_else(|| OidcError::UnknownProvider(name.chars().take(40).collect()))
    }

    /// Starts a sign-in with `provider`: fetches its discovery document if
    /// not yet known, records a new state, nonce and PKCE verifier, and
    /// returns the URL to send the browser to.
    pub async fn begin(&self, provider: &str) -> Result<Begun, OidcError> {
        let p = self.provider(provider)?;
        let discovery = self.discovery(p).await?;
        let (state, nonce, verifier) = (random()?, random()?, random()?);
        let url = authorization_url(
            &discovery.authorization_endpoint,
            &AuthorizeRequest {
                client_id: &p.config.client_id,
                redirect_uri: &p.redirect_uri,
                scopes: &p.config.scopes,
                state: &state,
                nonce: &nonce,
                code_challenge: &challenge_s256(&verifier),
            },
        );
        let now = (self.clock)();
        let pending = Pending {
            provider: p.config.name.clone(),
            nonce,
            verifier,
            created: now,
        };
        lock(&self.inner.pending).insert(state.clone(), pending, now);
        Ok(Begun {
            authorize_url: url.into(),
            state,
        })
    }

    /// Finishes a sign-in at `provider`'s callback: `state_cookie` is the
    /// state cookie set by [`Oidc::begin`]'s caller, `state` and `code` the
    /// callback's query parameters. Checks the state (present, equal to
    /// the cookie, known, not expired, for this provider; used up either
    /// way), trades the code for tokens and validates the ID token.
    pub async fn finish(
        &self,
        provider: &str,
        state_cookie: Option<&str>,
        state: &str,
        code: &str,
    ) -> Result<Identity, OidcError> {
        let p = self.provider(provider)?;
        let pending = self.take_pending(p, state_cookie, state)?;
        let discovery = self.discovery(p).await?;
        let id_token = self.exchange(p, &discovery, &pending, code).await?;
        let identity = self
            .validate(p, &discovery, &id_token, &pending.nonce)
            .await?;
        tracing::info!(provider = %p.config.name, "OIDC sign-in validated");
        Ok(identity)
    }

    /// What to show when the callback carries `error` (and perhaps
    /// `error_description`) instead of a code: the user cancelled, or the
    /// provider refused. Forgets the sign-in under `state`, if it is one
    /// of `provider`'s.
    pub fn provider_error(
        &self,
        provider: &str,
        state: Option<&str>,
        error: &str,
        description: Option<&str>,
    ) -> OidcError {
        let p = match self.provider(provider) {
            Ok(p) => p,
            Err(e) => return e,
        };
        if let Some(state) = state {
            let mut pending = lock(&self.inner.pending);
            if let Ok(taken) = pending.take(state, (self.clock)()) {
                if taken.provider != p.config.name {
                    pending.insert(state.to_owned(), taken, (self.clock)());
                }
            }
        }
        let reason = match description {
            Some(d) if !d.is_empty() => format!("{error}: {d}"),
            _ => error.to_owned(),
        };
        OidcError::Denied {
            provider: p.config.label.clone(),
            reason: reason
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect(),
        }
    }

    fn take_pending(
        &self,
        p: &Provider,
        state_cookie: Option<&str>,
        state: &str,
    ) -> Result<Pending, OidcError> {
        let cookie = state_cookie.ok_or(OidcError::NoStateCookie)?;
        if !same_secret(cookie, state) {
            return Err(OidcError::StateMismatch);
        }
        let taken = lock(&self.inner.pending).take(state, (self.clock)());
        let pending = taken.map_err(|e| match e {
            TakeError::Unknown => OidcError::UnknownState,
            TakeError::Expired => OidcError::Expired,
        })?;
        if pending.provider != p.config.name {
            return Err(OidcError::WrongProvider);
        }
        Ok(pending)
    }

    /// The provider's discovery document: cached, else fetched (and cached
    /// only when good, so a failure is retried next time).
    async fn discovery(&self, p: &Provider) -> Result<Arc<Discovery>, OidcError> {
        if let Some(d) = lock(&p.discovery).clone() {
            return Ok(d);
        }
        let url = Url::parse(&discovery::discovery_url(&p.config.issuer))
            .map_err(|e| OidcError::Setup(e.to_string()))?;
        let body = self.fetch(p, &url).await?;
        let d =
            discovery::parse(&body, &p.config.issuer).map_err(|source| OidcError::Discovery {
                provider: p.config.label.clone(),
                source,
            })?;
        let d = Arc::new(d);
        *lock(&p.discovery) = Some(d.clone());
        tracing::info!(provider = %p.config.name, "OIDC discovery document fetched");
        Ok(d)
    }

    /// The provider's keys: cached unless `refresh`, else fetched. Says
    /// whether they were just fetched.
    async fn jwks(
        &self,
        p: &Provider,
        d: &Discovery,
        refresh: bool,
    ) -> Result<(Arc<Jwks>, bool), OidcError> {
        if !refresh {
            if let Some(k) = lock(&p.jwks).clone() {
                return Ok((k, false));
            }
        }
        let body = self.fetch(p, &d.jwks_uri).await?;
        let keys = Jwks::parse(&body).map_err(|source| OidcError::Jwks {
            provider: p.config.label.clone(),
            source,
        })?;
        let keys = Arc::new(keys);
        *lock(&p.jwks) = Some(keys.clone());
        tracing::info!(provider = %p.config.name, keys = keys.len(), "OIDC signing keys fetched");
        Ok((keys, true))
    }

    /// GETs `url` from the provider; only a 200 will do.
    async fn fetch(&self, p: &Provider, url: &Url) -> Result<Vec<u8>, OidcError> {
        let unreachable = |reason: String| OidcError::Unreachable {
            provider: p.config.label.clone(),
            reason,
        };
        let answer = http::get(&self.inner.http, url)
            .await
            .map_err(unreachable)?;
        if answer.status != 200 {
            return Err(unreachable(format!("it answered HTTP {}", answer.status)));
        }
        Ok(answer.body)
    }

    /// Trades the code for the ID token.
    async fn exchange(
        &self,
        p: &Provider,
        d: &Discovery,
        pending: &Pending,
        code: &str,
    ) -> Result<String, OidcError> {
        let req = token_request(
            d,
            &Exchange {
                client_id: &p.config.client_id,
                client_secret: &p.config.client_secret,
                code,
                redirect_uri: &p.redirect_uri,
                code_verifier: &pending.verifier,
            },
        );
        let answer =
            http::post(&self.inner.http, &req)
                .await
                .map_err(|reason| OidcError::Unreachable {
                    provider: p.config.label.clone(),
                    reason,
                })?;
        parse_token_response(answer.status, &answer.body).map_err(|source| OidcError::Token {
            provider: p.config.label.clone(),
            source,
        })
    }

    /// Validates the ID token, fetching the keys again once if it names a
    /// key not among the cached ones (the provider rotated its keys).
    async fn validate(
        &self,
        p: &Provider,
        d: &Discovery,
        token: &str,
        nonce: &str,
    ) -> Result<Identity, OidcError> {
        let expected = Expected {
            issuer: &d.issuer,
            client_id: &p.config.client_id,
            nonce,
            now: (self.clock)(),
        };
        let (keys, fresh) = self.jwks(p, d, false).await?;
        let result = match id_token::validate(token, &keys, &expected) {
            Err(IdTokenError::UnknownKey(_)) if !fresh => {
                let (keys, _) = self.jwks(p, d, true).await?;
                id_token::validate(token, &keys, &expected)
            }
            other => other,
        };
        result.map_err(|source| {
            tracing::warn!(provider = %p.config.name, error = %source, "OIDC ID token refused");
            OidcError::IdToken {
                provider: p.config.label.clone(),
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn google() -> ProviderConfig {
        "name=google,issuer=https://accounts.google.com,client-id=x,client-secret=y"
            .parse()
            .unwrap()
    }

    #[test]
    fn setup_is_checked() {
        let oidc = Oidc::new("https://gsp.example.com/", vec![google()]).unwrap();
        assert_eq!(
            oidc.providers(),
            [("google".to_owned(), "Google".to_owned())]
        );
        assert_eq!(
            oidc.redirect_uri("google").as_deref(),
            Some("https://gsp.example.com/auth/oidc/google/callback")
        );
        assert_eq!(oidc.redirect_uri("github"), None);
        assert!(!format!("{oidc:?}").contains("secret=y"));
        for bad in ["gsp.example.com", "ftp://x", "https://x/?a=b"] {
            assert!(
                matches!(Oidc::new(bad, vec![]), Err(OidcError::Setup(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Oidc::new("https://x", vec![google(), google()]),
            Err(OidcError::Setup(_))
        ));
        let mut bad = google();
        bad.name = "Google".into();
        assert!(matches!(
            Oidc::new("https://x", vec![bad]),
            Err(OidcError::Setup(_))
        ));
    }

    #[test]
    fn provider_errors_are_named_and_forget_the_sign_in() {
        let oidc = Oidc::new("https://x", vec![google()]).unwrap();
        let now = system_now();
        let pending = Pending {
            provider: "google".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            created: now,
        };
        lock(&oidc.inner.pending).insert("st".into(), pending, now);
        let e = oidc.provider_error("google", Some("st"), "access_denied", Some("no\nthanks"));
        assert_eq!(
            e.to_string(),
            "Google did not sign you in (access_denied: nothanks)"
        );
        assert!(lock(&oidc.inner.pending).is_empty());
        assert!(matches!(
            oidc.provider_error("github", None, "x", None),
            OidcError::UnknownProvider(_)
        ));
    }
}
