//! OpenID Connect sign-in ("Sign in with Google", Microsoft, or any
//! issuer that speaks the protocol), as a library the dashboard calls.
//!
//! A sign-in is the authorization code flow with PKCE:
//!
//! 1. [`Oidc::begin`]: the platform makes a `state` (anti-forgery), a
//!    `nonce` (ties the ID token to this sign-in) and a PKCE verifier,
//!    keeps them in memory under the state, and sends the browser to the
//!    provider's authorization endpoint (found through its discovery
//!    document). The dashboard also puts the state in a short-lived
//!    `HttpOnly` cookie.
//! 2. The user signs in at the provider, which sends the browser back to
//!    `{base}/auth/oidc/{name}/callback?code=…&state=…`.
//! 3. [`Oidc::finish`]: the state must equal the cookie (the browser that
//!    started is the one finishing: no login CSRF), be known, unexpired,
//!    unused and the same provider's. The code is traded at the token
//!    endpoint (with the verifier and the client secret) for an ID token,
//!    which is believed only when signed by a key the provider publishes
//!    and its issuer, audience, times and nonce are right. The result is
//!    an [`Identity`]; [`crate::auth::Users::sign_in_oidc`] turns it into
//!    a platform user.
//!
//! The parts: [`config`] (a provider as configured, with its command-line
//! form), and the pure, unit-tested core: [`discovery`], [`pkce`],
//! [`authorize`], [`token`], [`id_token`], [`pending`]; [`Oidc`] (in
//! `client`) is the thin async shell that does the HTTP (`reqwest` over
//! rustls with `ring`) and keeps the caches.

pub mod authorize;
mod client;
pub mod config;
pub mod discovery;
mod http;
pub mod id_token;
pub mod pending;
pub mod pkce;
pub mod token;

pub use client::{Begun, Oidc};
pub use config::{ConfigError, ProviderConfig};
pub use id_token::Identity;

use discovery::DiscoveryError;
use id_token::{IdTokenError, JwksError};
use token::TokenError;

/// Why a sign-in failed. The messages are fit to show the user and hold no
/// secret; `provider` is the provider's label.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// No provider with that name is configured.
    #[error("there is no sign-in provider called {0:?}")]
    UnknownProvider(String),
    /// The callback came without the state cookie.
    #[error("this sign-in did not start in this browser; please start again")]
    NoStateCookie,
    /// The callback's state is not the one in the cookie.
    #[error("this sign-in was started in another browser or tab; please start again")]
    StateMismatch,
    /// The state is unknown: never started, already used, or forgotten.
    #[error("this sign-in is unknown or already finished; please start again")]
    UnknownState,
    /// The sign-in started too long ago.
    #[error("this sign-in took too long; please start again")]
    Expired,
    /// The state belongs to a sign-in with another provider.
    #[error("this sign-in was started with another provider; please start again")]
    WrongProvider,
    /// The provider sent the user back with an error instead of a code
    /// (see [`Oidc::provider_error`]).
    #[error("{provider} did not sign you in ({reason})")]
    Denied {
        /// The provider.
        provider: String,
        /// The provider's error code and description.
        reason: String,
    },
    /// The provider could not be reached or answered with an error status.
    #[error("{provider} could not be reached: {reason}")]
    Unreachable {
        /// The provider.
        provider: String,
        /// Why.
        reason: String,
    },
    /// The provider's discovery document is refused.
    #[error("{provider}'s configuration is not usable: {source}")]
    Discovery {
        /// The provider.
        provider: String,
        /// Why.
        source: DiscoveryError,
    },
    /// The provider's signing keys are not a JWK set.
    #[error("{provider}'s configuration is not usable: {source}")]
    Jwks {
        /// The provider.
        provider: String,
        /// Why.
        source: JwksError,
    },
    /// The token endpoint gave no ID token.
    #[error("{provider} did not complete the sign-in: {source}")]
    Token {
        /// The provider.
        provider: String,
        /// Why.
        source: TokenError,
    },
    /// The ID token is not believed.
    #[error("{provider}'s answer cannot be trusted: {source}")]
    IdToken {
        /// The provider.
        provider: String,
        /// Why.
        source: IdTokenError,
    },
    /// Randomness was unavailable (the OS refused).
    #[error("no randomness available: {0}")]
    Random(String),
    /// The sign-in setup is wrong (bad public URL, duplicate names, TLS).
    #[error("the sign-in setup is invalid: {0}")]
    Setup(String),
}
