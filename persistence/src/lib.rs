//! Storage and the event bus for GSP worlds: accounts, characters and world saves on SQLite
//! (the default, a file under `--data`) or PostgreSQL (by URL), through one
//! code path. Run by the world process (`gsp world`), on its own threads and
//! tasks, never on the tick thread.
//!
//! # Layout
//!
//! - [`db`] opens a [`gsp_store::Database`] (either backend) with this
//!   crate's schema ([`db::MIGRATOR`]).
//! - [`AccountStore`] implements the engine's
//!   [`AccountService`](gsp_engine::AccountService) (argon2id passwords,
//!   resume tokens, login [`Throttle`]) and stores characters per world.
//! - [`WorldStore`] applies a [`WorldSave`](gsp_engine::WorldSave) in one
//!   transaction that advances the world's generation, and loads the last
//!   complete save.
//! - [`Writer`] is the thread that drains the world's save channel:
//!   coalescing, retrying, flushing on shutdown.
//! - [`bus`] carries chat and presence between worlds: in-process, or Redis
//!   pub/sub across processes, degrading to local-only while Redis is away.
//! - [`password`] and [`token`]: a new password's rules and resume
//!   tokens, over [`gsp_store`]'s hashing and secrets.
//! - [`throttle`]: failed logins per account and per address.
//!
//! Accounts are shared by every world of a database; characters and saves
//! are keyed by world name, so several worlds can share one database.
#![warn(missing_docs)]

pub mod accounts;
pub mod bus;
pub mod db;
pub mod password;
pub mod throttle;
pub mod token;
pub mod world;
pub mod writer;

mod characters;
mod coalesce;
mod sql;

pub use accounts::AccountStore;
pub use gsp_store::{Backend, Database, StoreError, WriteTx};
pub use gsp_store::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
pub use throttle::{Throttle, ThrottleRules};
pub use token::{TOKEN_LIFETIME, TOKEN_PREFIX};
pub use world::WorldStore;
pub use writer::{FlushError, Writer, WriterHandle, WriterStats};
