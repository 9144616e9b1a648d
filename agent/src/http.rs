//! The agent's HTTP API, which only the platform calls: every request
//! carries `Authorization: Bearer <callback token>`, compared in constant
//! time. Errors are JSON `{"error": "..."}`.
//!
//! | call | does |
//! | --- | --- |
//! | `PUT /v1/servers/{id}` ([`StartRequest`]) | start or wake; answers when the world is ready, with its public addresses |
//! | `POST /v1/servers/{id}/stop` | hibernate: the world saves and stops, its proxy stays |
//! | `DELETE /v1/servers/{id}` | remove the world, its proxy and its data |
//! | `GET /v1/servers/{id}/logs?lines=N` | the last lines of its output |
//! | `GET /v1/servers/{id}/stats` | running, CPU, memory, players |
//! | `POST /v1/servers/{id}/backup` | a consistent snapshot of its data (`application/gzip`) |
//! | `PUT /v1/servers/{id}/data` | replace its (stopped) data with a snapshot |

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use gsp_agent_api::{same_secret, StartRequest, Started, Stats};
use serde::Deserialize;

use crate::agent::{Agent, AgentError};

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let status = match &self {
            AgentError::Unknown(_) => StatusCode::NOT_FOUND,
            AgentError::Invalid(_) => StatusCode::BAD_REQUEST,
            AgentError::NoPorts(_) | AgentError::Running => StatusCode::CONFLICT,
            AgentError::Runtime(_) | AgentError::Archive(_) => StatusCode::BAD_GATEWAY,
        };
        if status == StatusCode::BAD_GATEWAY {
            tracing::warn!("agent call failed: {self}");
        }
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Serves the agent's API on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    agent: Arc<Agent>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    if let Err(e) = axum::serve(listener, router(agent))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        tracing::error!("the agent API failed: {e}");
    }
}

/// The agent's routes, behind the callback-token check.
pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/v1/servers/{id}", put(start).delete(remove))
        .route("/v1/servers/{id}/stop", post(stop))
        .route("/v1/servers/{id}/logs", get(logs))
        .route("/v1/servers/{id}/console", post(console))
        .route("/v1/servers/{id}/stats", get(stats))
        .route("/v1/servers/{id}/backup", post(backup))
        .route(
            "/v1/servers/{id}/data",
            put(restore).layer(axum::extract::DefaultBodyLimit::max(MAX_ARCHIVE)),
        )
        .layer(axum::middleware::from_fn_with_state(
            agent.clone(),
            authorize,
        ))
        .with_state(agent)
}

async fn authorize(State(agent): State<Arc<Agent>>, request: Request, next: Next) -> Response {
    let shown = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same_secret(shown, &agent.config().callback_token) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "error": "a valid callback token is required" })),
        )
            .into_response();
    }
    next.run(request).await
}

async fn start(
    State(agent): State<Arc<Agent>>,
    Path(id): Path<i64>,
    Json(spec): Json<StartRequest>,
) -> Result<Json<Started>, AgentError> {
    let endpoints = agent.start(id, &spec).await?;
    Ok(Json(Started { endpoints }))
}

async fn console(
    State(agent): State<Arc<Agent>>,
    Path(id): Path<i64>,
    Json(line): Json<gsp_agent_api::ConsoleLine>,
) -> Result<StatusCode, AgentError> {
    agent.console(id, &line.line).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn stop(
    State(agent): State<Arc<Agent>>,
    Path(id): Path<i64>,
) -> Result<StatusCode, AgentError> {
    agent.stop(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(agent): State<Arc<Agent>>,
    Path(id): Path<i64>,
) -> Result<StatusCode, AgentError> {
    match agent.remove(id).await {
        Ok(()) | Err(AgentError::Unknown(_)) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(e),
    }
}

/// The largest snapshot the agent takes back, bytes.
pub const MAX_ARCHIVE: usize = 4 << 30;

async fn backup(
    State(agent): State<Arc<Agent>>,
    Path(id): Path<i64>,
) -> Result<Response, AgentError> {
    let archive = agent.backup(id).await?;
    Ok(([(header::CONTENT_TYPE, "application/gzip")], archive).into_response())
}

async fn restore(
    State(agent): State<Arc<Agent>>,
    Path(id): Path<i64>,
    archive: axum::body::Bytes,
) -> Result<StatusCode, AgentError> {
    agent.restore(id, &archive).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Lines {
    lines: Option<usize>,
}

async fn logs(
    State(agent): State<Arc<Agent>>,
    Path(id): Path<i64>,
    Query(q): Query<Lines>,
) -> Result<Json<Vec<String>>, AgentError> {
    let lines = q.lines.unwrap_or(200).min(crate::runtime::LOG_LINES);
    Ok(Json(agent.logs(id, lines).await?))
}

async fn stats(
    State(agent): State<Arc<Agent>>,
    Path(id): Path<i64>,
) -> Result<Json<Stats>, AgentError> {
    Ok(Json(agent.stats(id).await?))
}
