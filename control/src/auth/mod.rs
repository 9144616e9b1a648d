//! Who is calling: platform users, their sessions, API keys and second
//! factors.
//!
//! - [`users`]: email and argon2id password (or none, for users who sign
//!   in with OpenID Connect only), a role (admin or customer), TOTP with
//!   one-time recovery codes.
//! - [`sessions`]: the dashboard's cookie sessions. A session token is 32
//!   random bytes; the database keeps its SHA-256. Every sign-in makes a new
//!   session (rotation), each with its own CSRF token that every form must
//!   echo. A user with TOTP gets a session that is *pending* until the code
//!   is given.
//! - [`apikeys`]: `Authorization: Bearer gsp_ak_…` for the API: prefixed
//!   (recognisable in logs and by secret scanners), stored hashed, shown
//!   once, revocable, each belonging to one user.
//! - [`oidc`]: OpenID Connect sign-in (Google, Microsoft, any issuer):
//!   discovery, PKCE, state and nonce, ID tokens checked against the
//!   provider's keys; [`Users::sign_in_oidc`] links the identity to a user.
//! - [`totp`], [`ratelimit`], [`cookie`]: the sans-I/O parts (RFC 6238
//!   codes, token buckets, cookie attributes).

pub mod apikeys;
pub mod cookie;
pub mod oidc;
pub mod ratelimit;
pub mod sessions;
pub mod totp;
pub mod users;

use gsp_store::StoreError;

pub use apikeys::{ApiKey, ApiKeys};
pub use sessions::{Session, Sessions};
pub use users::{Role, User, Users};

/// Who asks for something: a signed-in user (by API key or dashboard
/// session), with their role. The HTTP faces find the caller; the rules
/// ([`crate::hosting`], the stores) decide what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The user.
    pub user_id: i64,
    /// Their role.
    pub role: Role,
}

impl Caller {
    /// Who the caller is in a server's history and in rate limits:
    /// `user:<id>`.
    pub fn who(&self) -> String {
        format!("user:{}", self.user_id)
    }

    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Why an auth operation failed. The messages are fit to show the user.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email or wrong password: one answer for both.
    #[error("wrong email or password")]
    BadCredentials,
    /// The email address is not one.
    #[error("that is not an email address")]
    BadEmail,
    /// A user with that email exists.
    #[error("a user with that email already exists")]
    EmailTaken,
    /// The password breaks the rules; the text says why.
    #[error("{0}")]
    WeakPassword(String),
    /// The TOTP or recovery code is wrong or used.
    #[error("that code is not valid")]
    BadCode,
    /// No such user, session or key.
    #[error("not found")]
    NotFound,
    /// Randomness was unavailable (the OS refused).
    #[error("no randomness available: {0}")]
    Random(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an OpenID Connect identity signs in no user
/// ([`Users::sign_in_oidc`]). The messages are fit to show the user.
#[derive(Debug, thiserror::Error)]
pub enum OidcUserError {
    /// An account not linked yet whose email the provider has not verified
    /// (or gave none): it may neither make a user nor join one.
    #[error("your sign-in provider has not confirmed an email address for this account, so it cannot be used here")]
    UnverifiedEmail,
    /// Making or finding the user failed (the provider's email is not one
    /// the platform takes, or the database failed).
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<StoreError> for OidcUserError {
    fn from(e: StoreError) -> Self {
        OidcUserError::Auth(e.into())
    }
}

impl From<getrandom::Error> for AuthError {
    fn from(e: getrandom::Error) -> Self {
        AuthError::Random(e.to_string())
    }
}

/// Milliseconds since the Unix epoch, as the platform stores times.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Seconds since the Unix epoch, as TOTP counts time.
pub fn now_secs() -> u64 {
    now_ms().max(0) as u64 / 1000
}

pub use gsp_agent_api::same_secret;
