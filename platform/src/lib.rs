//! The GSP platform's HTTP faces: the JSON API, the dashboard and the
//! routes node agents call. Run by the platform process (`gsp platform`,
//! and `gsp up` on one machine). The rules behind every page and call (who
//! may do what, what it costs, how a server changes state) are
//! [`gsp_control`]'s; this crate finds the caller, parses the request and
//! renders the answer.
//!
//! # Layout
//!
//! - [`api`]: the JSON API under `/api`, described by `/openapi.json`, and
//!   [`api::AppState`], what every handler reaches.
//! - [`web`]: the dashboard, server-rendered HTML pages.
//! - [`agents`]: the routes node agents call (`/nodes/v1`).
//! - [`local`]: what `gsp up` seeds in the database on a first run.
//!
//! It never links the engine, nor the node agent or the wake proxy: it
//! drives worlds through node agents, over HTTP ([`gsp_agent_api`]).

#![warn(missing_docs)]

pub mod agents;
pub mod api;
pub mod local;
pub mod web;

use std::net::SocketAddr;

/// The whole web surface: the JSON API ([`api::router`]) and the dashboard
/// ([`web::router`]).
pub fn app(state: api::AppState) -> axum::Router {
    api::router(state.clone())
        .merge(agents::router(state.clone()))
        .merge(web::router(state))
}

/// Serves [`app`] on `listener` until `state.shutdown` is cancelled, then
/// lets requests in flight finish (event streams end with the token).
/// Handlers see the client's address (for sign-in rate limits). With an
/// orchestrator, the billing loop
/// ([`Hosting::run_billing`](gsp_control::hosting::Hosting::run_billing))
/// runs alongside.
pub async fn serve(listener: tokio::net::TcpListener, state: api::AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    if state.hosting.can_orchestrate() {
        tokio::spawn(
            state
                .hosting
                .clone()
                .run_billing(gsp_control::hosting::BILLING_INTERVAL, shutdown.clone()),
        );
    }
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
}
