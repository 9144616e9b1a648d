//! The GSP platform: the control plane that hosts worlds.
//!
//! This crate serves (as it fills in) the web API and dashboard. Its parts:
//! [`auth`] (users, sessions, API keys, TOTP, OpenID Connect sign-in),
//! [`ledger`] (double-entry credits in integer milli-credits, idempotent
//! and never negative), [`billing`] (hourly charges from servers' state
//! changes), [`servers`] (templates, servers, the agent interface) and
//! [`api`] (the JSON API).
//! It never links the engine: it drives worlds as processes, through their
//! command line and HTTP API.
//!
//! Storage is [`gsp_persistence::Database`] (SQLite by default, PostgreSQL
//! by URL) with the platform's own migrations ([`db::MIGRATOR`]), kept in a
//! database of its own (`platform.db` in the data directory).

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod billing;
pub mod db;
pub mod ledger;
pub mod payments;
pub mod servers;
