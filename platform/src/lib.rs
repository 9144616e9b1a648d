//! The GSP platform: the control plane that hosts worlds.
//!
//! This crate serves (as it fills in) the web API and dashboard. Its parts:
//! [`auth`] (users, sessions, API keys, TOTP, OpenID Connect sign-in),
//! [`ledger`] (double-entry credits in integer milli-credits, idempotent
//! and never negative), [`billing`] (hourly charges from servers' state
//! changes), [`servers`] (templates, servers, the agent interface), [`api`]
//! (the JSON API) and [`web`] (the dashboard).
//! [`backup`] keeps the archives of worlds' data that node agents make, and
//! gives them back for a restore.
//! It never links the engine: it drives worlds as processes, through their
//! command line and HTTP API.
//!
//! Storage is [`gsp_persistence::Database`] (SQLite by default, PostgreSQL
//! by URL) with the platform's own migrations ([`db::MIGRATOR`]), kept in a
//! database of its own (`platform.db` in the data directory).

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod backup;
pub mod billing;
pub mod db;
pub mod ledger;
pub mod local;
pub mod node;
pub mod payments;
pub mod servers;
pub mod web;

use std::net::SocketAddr;

/// The whole web surface: the JSON API ([`api::router`]) and the dashboard
/// ([`web::router`]).
pub fn app(state: api::AppState) -> axum::Router {
    api::router(state.clone())
        .merge(node::routes::router(state.clone()))
        .merge(web::router(state))
}

/// Serves [`app`] on `listener` until `state.shutdown` is cancelled, then
/// lets requests in flight finish (event streams end with the token).
/// Handlers see the client's address (for sign-in rate limits). With an
/// agent, the billing loop ([`billing::Biller::run`]) runs alongside.
pub async fn serve(listener: tokio::net::TcpListener, state: api::AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    if let Some(agent) = state.agent.clone() {
        tokio::spawn(state.biller.clone().run(
            agent,
            billing::biller::DEFAULT_INTERVAL,
            shutdown.clone(),
        ));
    }
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
}
