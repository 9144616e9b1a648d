//! The GSP control plane's rules and stores, with no HTTP server in it:
//! who the users are, what they hold and owe, which servers they run and
//! where, and how a server moves between running, hibernated and deleted.
//! Run by the platform process (`gsp platform`, and `gsp up` on one
//! machine); `gsp-platform` puts its JSON API and dashboard in front of it.
//!
//! Storage is [`gsp_store::Database`] (SQLite by default, PostgreSQL by
//! URL) with the control plane's own schema ([`db::MIGRATOR`]), in a
//! database of its own (`platform.db` in the data directory). The crate
//! never links the engine: it drives worlds through node agents.
//!
//! # Layout
//!
//! - [`auth`]: users, dashboard sessions, API keys, TOTP, rate limits and
//!   OpenID Connect sign-in.
//! - [`ledger`]: double-entry credits in integer milli-credits, idempotent
//!   and never negative.
//! - [`billing`]: which hours of a server are charged (pure rules) and the
//!   [`Biller`](billing::Biller) that posts them.
//! - [`payments`]: the payment provider's signed webhook events.
//! - [`servers`]: templates, servers and their recorded states, and the
//!   trait through which servers are started and stopped on nodes.
//! - [`fleet`]: the nodes (tokens, registrations, heartbeats, placement)
//!   and the orchestrator that drives their agents over HTTP.
//! - [`backup`]: the store that keeps servers' backup archives.
//! - [`hosting`]: the server lifecycle, the one place where a server
//!   changes state (with its charge and its node call).
//! - [`db`]: the schema and id counters.
//! - `testing` (feature `testing`, for dev-dependencies only): a
//!   recording orchestrator and a template for tests.
#![warn(missing_docs)]

pub mod auth;
pub mod backup;
pub mod billing;
pub mod db;
pub mod fleet;
pub mod hosting;
pub mod ledger;
pub mod payments;
pub mod servers;
#[cfg(feature = "testing")]
pub mod testing;
