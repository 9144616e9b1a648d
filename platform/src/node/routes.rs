//! The platform's routes for node agents, under `/nodes/v1` (internal: not
//! part of the customer API or its OpenAPI document). Every call carries
//! the node's token, `Authorization: Bearer gsp_nt_…`.
//!
//! | call | does |
//! | --- | --- |
//! | `POST /nodes/v1/register` ([`Registration`]) | records where the agent listens; answers with the servers placed on it |
//! | `POST /nodes/v1/heartbeat` ([`Heartbeat`]) | records the node alive and its servers' reports; hibernates idle ones |
//! | `POST /nodes/v1/servers/{id}/wake` | a wake proxy's first client: bill the wake, start the world |

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use gsp_agent_api::{Heartbeat, Registered, Registration, ServerReport};
use serde::Serialize;

use super::fleet::{FleetError, NodeId};
use crate::api::servers::hold_then_start;
use crate::api::{ApiError, AppState};
use crate::auth::now_ms;
use crate::servers::{ServerError, ServerState, Template};

/// What a hibernation for idleness records as its cause.
pub const IDLE: &str = "idle";

/// What a wake by a proxy's client records as its cause.
pub const PROXY: &str = "proxy";

/// What a registration records for servers that stopped with their node.
pub const NODE_RESTARTED: &str = "node restarted";

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
        .with_state(state)
}

/// The node a request comes from, by its token.
struct NodeCaller(NodeId);

impl FromRequestParts<AppState> for NodeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let fleet = state
            .fleet
            .as_ref()
            .ok_or_else(|| ApiError::NotFound("this platform runs no node agents".into()))?;
        let shown = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        match fleet.authenticate(shown).await? {
            Some(node) => Ok(NodeCaller(node)),
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
    NodeCaller(node): NodeCaller,
    body: Result<Json<Registration>, JsonRejection>,
) -> Result<Json<Registered>, ApiError> {
    let Json(registration) = body?;
    let fleet = state.fleet.as_ref().expect("NodeCaller checked");
    let templates = templates(&state).await?;
    let registered = fleet.register(&node, &registration, &templates).await?;
    // A node that registers runs nothing yet: what was recorded running
    // there stopped with the old agent, and billing stops with it.
    let now = now_ms();
    for a in &registered.servers {
        if let Some(server) = state
            .servers
            .running()
            .await?
            .into_iter()
            .find(|s| s.id == a.id)
        {
            match state
                .servers
                .transition(server.id, ServerState::Hibernated, now, NODE_RESTARTED)
                .await
            {
                Ok(_) | Err(ServerError::WrongState(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
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
    NodeCaller(node): NodeCaller,
    body: Result<Json<Heartbeat>, JsonRejection>,
) -> Result<Json<Beat>, ApiError> {
    let Json(beat) = body?;
    let fleet = state.fleet.as_ref().expect("NodeCaller checked");
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
        match state
            .servers
            .transition(server.id, ServerState::Hibernated, now_ms(), IDLE)
            .await
        {
            Ok(_) => {}
            Err(ServerError::WrongState(_)) => continue,
            Err(e) => return Err(e.into()),
        }
        tracing::info!(
            server = server.id,
            idle_ms = report.idle_ms,
            "hibernating an idle server"
        );
        hibernating.push(server.id);
        let agent = state.agent.clone().expect("a fleet is the agent");
        tokio::spawn(async move {
            if let Err(e) = agent.stop(server.id).await {
                tracing::error!(server = server.id, "stopping an idle server failed: {e}");
            }
        });
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
    NodeCaller(node): NodeCaller,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Json<Woken>, ApiError> {
    let fleet = state.fleet.as_ref().expect("NodeCaller checked");
    if !fleet.servers_on(node.id).await?.contains(&id) {
        return Err(ApiError::NotFound("no such server on this node".into()));
    }
    let agent = state.agent.clone().expect("a fleet is the agent");
    let server = state
        .servers
        .running()
        .await?
        .into_iter()
        .find(|s| s.id == id);
    let server = match server {
        // Recorded running but a client found it asleep (it crashed, or
        // the node restarted): start it again, no new hold.
        Some(server) => {
            let template = state
                .servers
                .template(server.template_id)
                .await?
                .ok_or(ServerError::NotFound)?;
            agent.start(&server, &template).await?;
            server
        }
        None => {
            let moved = state
                .servers
                .transition(id, ServerState::Running, now_ms(), PROXY)
                .await?;
            let template = state
                .servers
                .template(moved.template_id)
                .await?
                .ok_or(ServerError::NotFound)?;
            hold_then_start(&state, agent.as_ref(), moved, &template, PROXY).await?
        }
    };
    tracing::info!(server = server.id, node = %node.name, "woken by a client");
    Ok(Json(Woken {
        state: ServerState::Running,
    }))
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
