//! The routes node agents call, under `/nodes/v1` (internal: not part of
//! the customer API or its OpenAPI document). Every call carries the
//! node's token, `Authorization: Bearer gsp_nt_…`, checked against the
//! [`Fleet`]; what a call changes goes through [`gsp_control::hosting`].
//!
//! ```text
//!  player ──telnet/QUIC──▶ wake proxy ──▶ world (process or container)
//!                              │ wake                 ▲ start/stop
//!                              ▼                      │
//!                           platform ──HTTP (callback token)──▶ agent
//!                              ▲                      │
//!                              └──register, heartbeat (node token)
//! ```
//!
//! | call | does |
//! | --- | --- |
//! | `POST /nodes/v1/register` ([`Registration`]) | records where the agent listens; answers with the servers placed on it |
//! | `POST /nodes/v1/heartbeat` ([`Heartbeat`]) | records the node alive and its servers' reports; hibernates idle ones |
//! | `POST /nodes/v1/servers/{id}/wake` | a wake proxy's first client: bill the wake, start the world |
//! | `POST /nodes/v1/servers/{id}/exited` ([`Exited`]) | a world exited on its own: record it crashed, stopped, or restarting (billing stops at the exit) |

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use gsp_agent_api::{Exited, Heartbeat, Registered, Registration, ServerReport};
use serde::Serialize;

use crate::api::{ApiError, AppState};
use gsp_control::fleet::{Fleet, FleetError, NodeId};
use gsp_control::hosting::NODE_RESTARTED;
use gsp_control::servers::{ServerState, Template};

impl From<FleetError> for ApiError {
    fn from(e: FleetError) -> Self {
        match e {
            FleetError::Invalid(_) => ApiError::BadRequest(e.to_string()),
            FleetError::NameTaken => ApiError::Conflict(e.to_string()),
            FleetError::Store(_) | FleetError::Random(_) => ApiError::Internal(e.to_string()),
        }
    }
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/nodes/v1/register", post(register))
        .route("/nodes/v1/heartbeat", post(heartbeat))
        .route("/nodes/v1/servers/{id}/wake", post(wake))
        .route("/nodes/v1/servers/{id}/exited", post(exited))
        .with_state(state)
}

/// The node a request comes from, by its token, and the registry that
/// knows it.
struct NodeCaller {
    node: NodeId,
    fleet: Fleet,
}

impl FromRequestParts<AppState> for NodeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let fleet = state
            .fleet
            .clone()
            .ok_or_else(|| ApiError::NotFound("this platform runs no node agents".into()))?;
        let shown = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        match fleet.authenticate(shown).await? {
            Some(node) => Ok(NodeCaller { node, fleet }),
            None => Err(ApiError::Unauthorized(
                "use Authorization: Bearer <node token> (gsp platform node create)".into(),
            )),
        }
    }
}

async fn templates(state: &AppState) -> Result<HashMap<i64, Template>, ApiError> {
    Ok(state
        .servers
        .templates()
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect())
}

async fn register(
    State(state): State<AppState>,
    NodeCaller { node, fleet }: NodeCaller,
    body: Result<Json<Registration>, JsonRejection>,
) -> Result<Json<Registered>, ApiError> {
    let Json(registration) = body?;
    let templates = templates(&state).await?;
    let registered = fleet.register(&node, &registration, &templates).await?;
    // A node that registers runs nothing yet: what was recorded running
    // there stopped with the old agent, and billing stops with it.
    let placed: Vec<i64> = registered.servers.iter().map(|a| a.id).collect();
    state
        .hosting
        .record_stopped(&placed, NODE_RESTARTED)
        .await?;
    Ok(Json(registered))
}

/// What a heartbeat answers.
#[derive(Debug, Serialize)]
struct Beat {
    /// The servers the platform is hibernating for idleness.
    hibernating: Vec<i64>,
}

/// Whether a report says the server has been idle for `idle_seconds`.
pub fn idle_enough(report: &ServerReport, idle_seconds: i64) -> bool {
    report.running
        && report.players == 0
        && report.clients == 0
        && report.idle_ms
            >= u64::try_from(idle_seconds.max(0))
                .unwrap_or(0)
                .saturating_mul(1000)
}

async fn heartbeat(
    State(state): State<AppState>,
    NodeCaller { node, fleet }: NodeCaller,
    body: Result<Json<Heartbeat>, JsonRejection>,
) -> Result<Json<Beat>, ApiError> {
    let Json(beat) = body?;
    let reports = fleet.heartbeat(&node, &beat).await?;
    let templates = templates(&state).await?;
    let running = state.servers.running().await?;
    let mut hibernating = Vec::new();
    for server in running {
        let Some(report) = reports.iter().find(|r| r.id == server.id) else {
            continue;
        };
        let Some(template) = templates.get(&server.template_id) else {
            continue;
        };
        if !idle_enough(report, template.idle_seconds) {
            continue;
        }
        if !state.hosting.hibernate_idle(server.id).await? {
            continue;
        }
        tracing::info!(
            server = server.id,
            idle_ms = report.idle_ms,
            "hibernating an idle server"
        );
        hibernating.push(server.id);
    }
    Ok(Json(Beat { hibernating }))
}

/// What a wake answers.
#[derive(Debug, Serialize)]
struct Woken {
    /// The server's state now: running.
    state: ServerState,
}

async fn wake(
    State(state): State<AppState>,
    NodeCaller { node, fleet }: NodeCaller,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Json<Woken>, ApiError> {
    if !fleet.servers_on(node.id).await?.contains(&id) {
        return Err(ApiError::NotFound("no such server on this node".into()));
    }
    let server = state.hosting.wake_for_client(id).await?;
    tracing::info!(server = server.id, node = %node.name, "woken by a client");
    Ok(Json(Woken {
        state: ServerState::Running,
    }))
}

/// What an exit report answers.
#[derive(Debug, Serialize)]
struct Recorded {
    /// The server's state now.
    state: ServerState,
}

async fn exited(
    State(state): State<AppState>,
    NodeCaller { node, fleet }: NodeCaller,
    axum::extract::Path(id): axum::extract::Path<i64>,
    body: Result<Json<Exited>, JsonRejection>,
) -> Result<Json<Recorded>, ApiError> {
    let Json(exited) = body?;
    if !fleet.servers_on(node.id).await?.contains(&id) {
        return Err(ApiError::NotFound("no such server on this node".into()));
    }
    let now = state.hosting.record_exit(id, &exited).await?;
    tracing::warn!(
        server = id,
        node = %node.name,
        status = %exited.status,
        outcome = ?exited.outcome,
        state = now.as_str(),
        "a world exited on its own"
    );
    Ok(Json(Recorded { state: now }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(players: u32, clients: u32, idle_ms: u64) -> ServerReport {
        ServerReport {
            id: 1,
            running: true,
            players,
            clients,
            idle_ms,
            cpu_percent: 0.0,
            memory_mib: 0.0,
            endpoints: Default::default(),
        }
    }

    #[test]
    fn idle_means_running_alone_long_enough() {
        assert!(idle_enough(&report(0, 0, 900_000), 900));
        assert!(!idle_enough(&report(0, 0, 899_999), 900));
        assert!(!idle_enough(&report(1, 0, 900_000), 900), "a player");
        assert!(
            !idle_enough(&report(0, 1, 900_000), 900),
            "a client at the proxy"
        );
        let asleep = ServerReport {
            running: false,
            ..report(0, 0, 900_000)
        };
        assert!(!idle_enough(&asleep, 900));
    }
}
