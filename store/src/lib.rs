//! Database plumbing shared by every GSP process that keeps data, with no
//! engine and no tables in it: the world (`gsp world`, through
//! `gsp-persistence`) and the control plane (`gsp platform`, through
//! `gsp-control`) each bring their own schema.
//!
//! One code path for both backends: SQLite (the embedded default, a file in
//! the data directory) and PostgreSQL (by URL), through sqlx's `Any`
//! driver.
//!
//! # Layout
//!
//! - [`db`]: [`Database`], the pool and its migrations; [`WriteTx`], write
//!   transactions safe against SQLite's lock upgrade failure.
//! - [`error`]: [`StoreError`], what every store operation fails with.
//! - [`password`]: argon2id hashing and the password length limits.
//! - [`token`]: random prefixed secrets and their stored digests.
//! - [`testing`] (feature `testing`, for dev-dependencies only):
//!   throwaway databases on both backends and [`both_backends!`].
#![warn(missing_docs)]

pub mod db;
pub mod error;
pub mod password;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;

pub use db::{Backend, Database, WriteTx};
pub use error::StoreError;
pub use password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
