//! Accounts as the gateways see them: the [`AccountService`] a world's
//! gateways call to create and log in players, and what a login yields.
//!
//! The engine only defines the interface; `gsp-persistence` implements it on
//! SQLite or PostgreSQL (argon2id hashes, login throttling, resume tokens),
//! and the `gsp` binary hands that implementation to the gateways. Keeping
//! the trait here lets gateways stay independent of storage.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::Duration;

pub use crate::character::AccountId;
use crate::character::CharacterState;

/// A boxed future, so that [`AccountService`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A successful login or account creation.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// The account.
    pub account: AccountId,
    /// The account's name as it was created (the player may have typed
    /// another capitalisation).
    pub name: String,
    /// The character as last saved; `None` for a new account, which starts
    /// at the world's start room.
    pub character: Option<CharacterState>,
}

/// Why an account operation failed. Every variant's message is fit to show
/// the player.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The name breaks the naming rules.
    #[error("names are 2 to 16 letters, digits, '-' or '_', starting with a letter")]
    BadName,
    /// An account with that name (in any capitalisation) exists.
    #[error("that name is already taken")]
    NameTaken,
    /// The password is unacceptable; the text says why.
    #[error("{0}")]
    WeakPassword(String),
    /// Unknown name, wrong password, or an unknown or expired token. One
    /// answer for all, so that it reveals nothing.
    #[error("wrong name or password")]
    BadCredentials,
    /// Too many failed attempts from this address or for this account.
    #[error("too many failed attempts; try again in {} s", retry_after.as_secs().max(1))]
    Throttled {
        /// When another attempt will be considered.
        retry_after: Duration,
    },
    /// The store could not be reached or failed; the text is for the log.
    #[error("the account store is unavailable: {0}")]
    Unavailable(String),
}

/// Creates accounts and logs players in. Implementations are cheap to share
/// (`Arc<dyn AccountService>`) and safe to call from many connections at once.
///
/// `peer` is the client's address, used for throttling failed attempts per
/// address as well as per account.
pub trait AccountService: Send + Sync + 'static {
    /// Whether an account with this name exists (any capitalisation). Used
    /// by the telnet prompt to choose between "password:" and "create?".
    fn exists<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, AccountError>>;

    /// Creates an account and logs it in.
    fn create<'a>(
        &'a self,
        name: &'a str,
        password: &'a str,
        peer: IpAddr,
    ) -> BoxFuture<'a, Result<Login, AccountError>>;

    /// Logs in with name and password.
    fn connect<'a>(
        &'a self,
        name: &'a str,
        password: &'a str,
        peer: IpAddr,
    ) -> BoxFuture<'a, Result<Login, AccountError>>;

    /// Logs in with a resume token from [`AccountService::issue_token`].
    fn connect_token<'a>(
        &'a self,
        token: &'a str,
        peer: IpAddr,
    ) -> BoxFuture<'a, Result<Login, AccountError>>;

    /// Issues a resume token for `account` (valid for 30 days): graphical
    /// clients keep it instead of the password.
    fn issue_token(&self, account: AccountId) -> BoxFuture<'_, Result<String, AccountError>>;
}
