//! `/api/templates` and `/api/servers`: what customers run.
//!
//! Changes go through the platform's [`Agent`](crate::servers::agent::Agent):
//! creating or waking a server starts it, hibernating stops it, deleting
//! removes it. The database records the state change first and the agent
//! acts after, so a failed agent call leaves a recorded state that the next
//! attempt (or the agent's own report) settles; the caller gets 502 with
//! the reason.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use super::billing::wallet;
use super::doc::{ADMINS_ONLY, BAD_ID, NODE_FAILED, NO_AGENT, WRONG_SHAPE};
use super::{ApiError, AppState, Caller, ErrorBody, PathId};
use crate::auth::now_ms;
use crate::billing::{BillError, Settled};
use crate::ledger::Millis;
use crate::servers::agent::{Agent, AgentError, Stats};
use crate::servers::{NewTemplate, Server, ServerError, ServerState, Template};

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::Invalid(_) => ApiError::BadRequest(e.to_string()),
            ServerError::NotFound => ApiError::NotFound("no such server".into()),
            ServerError::NameTaken | ServerError::WrongState(_) => {
                ApiError::Conflict(e.to_string())
            }
            ServerError::Store(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<BillError> for ApiError {
    fn from(e: BillError) -> Self {
        match e {
            BillError::Server(e) => e.into(),
            BillError::Ledger(e) => e.into(),
            BillError::Rules(e) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> Self {
        match e {
            AgentError::NoCapacity => ApiError::Conflict(e.to_string()),
            AgentError::Unknown | AgentError::Node(_) => ApiError::BadGateway(e.to_string()),
        }
    }
}

pub(crate) fn agent(state: &AppState) -> Result<&Arc<dyn Agent>, ApiError> {
    state
        .agent
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no node agent is connected".into()))
}

/// The templates servers can be made from.
#[utoipa::path(
    get,
    path = "/api/templates",
    operation_id = "list_templates",
    tag = "servers",
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Every template.", body = Vec<Template>),
    ),
)]
pub(super) async fn templates(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<Template>>, ApiError> {
    Ok(Json(state.servers.templates().await?))
}

/// Adds a template (admins only).
#[utoipa::path(
    post,
    path = "/api/admin/templates",
    operation_id = "create_template",
    tag = "servers",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    request_body = NewTemplate,
    responses(
        (status = 201, description = "The new template.", body = Template),
        (status = 400, description = "The body is not JSON, or breaks a rule (an unknown runtime or protocol, \
            an empty name, no memory...).", body = ErrorBody),
        (status = 403, description = ADMINS_ONLY, body = ErrorBody),
        (status = 409, description = "A template with that name exists.", body = ErrorBody),
        (status = 422, description = WRONG_SHAPE, body = ErrorBody),
    ),
)]
pub(super) async fn create_template(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewTemplate>, JsonRejection>,
) -> Result<(StatusCode, Json<Template>), ApiError> {
    caller.require_admin()?;
    let Json(t) = body?;
    Ok((
        StatusCode::CREATED,
        Json(state.servers.create_template(&t).await?),
    ))
}

/// The caller's servers (an admin's: everyone's), deleted ones left out.
#[utoipa::path(
    get,
    path = "/api/servers",
    operation_id = "list_servers",
    tag = "servers",
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The servers.", body = Vec<Server>),
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Server>>, ApiError> {
    Ok(Json(state.servers.list(caller.user_id, caller.role).await?))
}

/// `POST /api/servers` body.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct NewServer {
    /// The template to make it from.
    template_id: i64,
    /// A name for it.
    #[schema(example = "Ada's town")]
    name: String,
}

/// Makes a server from a template and starts it.
#[utoipa::path(
    post,
    path = "/api/servers",
    operation_id = "create_server",
    tag = "servers",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    request_body = NewServer,
    responses(
        (status = 201, description = "The new server, running.", body = Server),
        (status = 400, description = "The body is not JSON, or there is no such template, or the name is bad.", body = ErrorBody),
        (status = 409, description = "Not enough credits for the first hour, or no node has room for it.", body = ErrorBody),
        (status = 422, description = WRONG_SHAPE, body = ErrorBody),
        (status = 502, description = NODE_FAILED, body = ErrorBody),
        (status = 503, description = NO_AGENT, body = ErrorBody),
    ),
)]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewServer>, JsonRejection>,
) -> Result<(StatusCode, Json<Server>), ApiError> {
    let Json(new) = body?;
    let server = create_server(&state, caller, new.template_id, &new.name).await?;
    Ok((StatusCode::CREATED, Json(server)))
}

/// Creates a server for `caller` (the API's and the dashboard's way): checks
/// the wallet, records it running, posts the first hour, starts it.
pub(crate) async fn create_server(
    state: &AppState,
    caller: Caller,
    template_id: i64,
    name: &str,
) -> Result<Server, ApiError> {
    let agent = agent(state)?.clone();
    let template = state
        .servers
        .template(template_id)
        .await?
        .ok_or_else(|| ApiError::BadRequest(format!("there is no template {template_id}")))?;
    // Refused up front when the first hour is out of reach, so a wallet
    // that cannot pay leaves no server behind. The hold below is the real
    // check (the balance can change in between).
    let balance = state.ledger.balance(&wallet(caller.user_id)?).await?;
    if balance.0 < template.price_per_hour {
        return Err(insufficient(balance, Millis(template.price_per_hour)));
    }
    // Nor is a server made (and charged) that no node can take.
    agent.has_room(&template).await?;
    let server = state
        .servers
        .create(caller.user_id, template_id, name)
        .await?;
    hold_then_start(state, agent.as_ref(), server, &template, &caller.who()).await
}

fn insufficient(balance: Millis, price: Millis) -> ApiError {
    ApiError::Conflict(format!(
        "not enough credits: the first hour costs {price} and the balance is {balance}"
    ))
}

/// Posts the hold for a server just recorded running (see
/// [`crate::billing`]), then starts it. When the wallet cannot pay, the
/// server is recorded hibernated instead and the caller gets 409.
pub(crate) async fn hold_then_start(
    state: &AppState,
    agent: &dyn Agent,
    server: Server,
    template: &Template,
    who: &str,
) -> Result<Server, ApiError> {
    match state
        .biller
        .settle_priced(&server, Millis(template.price_per_hour), now_ms(), who)
        .await?
    {
        Settled::Paid { .. } => {
            agent.start(&server, template).await?;
            Ok(server)
        }
        Settled::Hibernated { balance, price, .. } => Err(insufficient(balance, price)),
    }
}

pub(crate) async fn visible(state: &AppState, caller: Caller, id: i64) -> Result<Server, ApiError> {
    state
        .servers
        .get(caller.user_id, caller.role, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such server".into()))
}

/// One server.
#[utoipa::path(
    get,
    path = "/api/servers/{id}",
    operation_id = "get_server",
    tag = "servers",
    security(("api_key" = []), ("session" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    responses(
        (status = 200, description = "The server.", body = Server),
        (status = 400, description = BAD_ID, body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's).", body = ErrorBody),
    ),
)]
pub(super) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Server>, ApiError> {
    Ok(Json(visible(&state, caller, id).await?))
}

/// Moves a server the caller may see to `to`, then has the agent act
/// (with the billing hold on a wake).
pub(crate) async fn change(
    state: &AppState,
    caller: Caller,
    id: i64,
    to: ServerState,
) -> Result<Server, ApiError> {
    let agent = agent(state)?.clone();
    let server = visible(state, caller, id).await?;
    let moved = state
        .servers
        .transition(server.id, to, now_ms(), &caller.who())
        .await?;
    match to {
        ServerState::Running => {
            let template = state
                .servers
                .template(moved.template_id)
                .await?
                .ok_or(ServerError::NotFound)?;
            return hold_then_start(state, agent.as_ref(), moved, &template, &caller.who()).await;
        }
        ServerState::Hibernated => agent.stop(moved.id).await?,
        ServerState::Deleted => agent.remove(moved.id).await?,
    }
    Ok(moved)
}

/// Deletes a server with its data.
#[utoipa::path(
    delete,
    path = "/api/servers/{id}",
    operation_id = "delete_server",
    tag = "servers",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = BAD_ID, body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's).", body = ErrorBody),
        (status = 502, description = NODE_FAILED, body = ErrorBody),
        (status = 503, description = NO_AGENT, body = ErrorBody),
    ),
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    change(&state, caller, id, ServerState::Deleted).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a hibernated server again.
#[utoipa::path(
    post,
    path = "/api/servers/{id}/wake",
    operation_id = "wake_server",
    tag = "servers",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    responses(
        (status = 200, description = "The server, running.", body = Server),
        (status = 400, description = BAD_ID, body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's).", body = ErrorBody),
        (status = 409, description = "It is running already, the balance cannot pay the hour that would start, or no node has room for it.", body = ErrorBody),
        (status = 502, description = NODE_FAILED, body = ErrorBody),
        (status = 503, description = NO_AGENT, body = ErrorBody),
    ),
)]
pub(super) async fn wake(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Server>, ApiError> {
    Ok(Json(
        change(&state, caller, id, ServerState::Running).await?,
    ))
}

/// Stops a running server, keeping its data.
#[utoipa::path(
    post,
    path = "/api/servers/{id}/hibernate",
    operation_id = "hibernate_server",
    tag = "servers",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    responses(
        (status = 200, description = "The server, hibernated.", body = Server),
        (status = 400, description = BAD_ID, body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's).", body = ErrorBody),
        (status = 409, description = "It is hibernated already.", body = ErrorBody),
        (status = 502, description = NODE_FAILED, body = ErrorBody),
        (status = 503, description = NO_AGENT, body = ErrorBody),
    ),
)]
pub(super) async fn hibernate(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Server>, ApiError> {
    Ok(Json(
        change(&state, caller, id, ServerState::Hibernated).await?,
    ))
}

/// The last 200 lines of a server's log.
#[utoipa::path(
    get,
    path = "/api/servers/{id}/logs",
    operation_id = "server_logs",
    tag = "servers",
    security(("api_key" = []), ("session" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    responses(
        (status = 200, description = "The lines, oldest first.", body = Vec<String>),
        (status = 400, description = BAD_ID, body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's).", body = ErrorBody),
        (status = 502, description = NODE_FAILED, body = ErrorBody),
        (status = 503, description = NO_AGENT, body = ErrorBody),
    ),
)]
pub(super) async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Vec<String>>, ApiError> {
    let server = visible(&state, caller, id).await?;
    Ok(Json(agent(&state)?.logs(server.id, 200).await?))
}

/// A server's current stats, as its node reports them.
#[utoipa::path(
    get,
    path = "/api/servers/{id}/stats",
    operation_id = "server_stats",
    tag = "servers",
    security(("api_key" = []), ("session" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    responses(
        (status = 200, description = "The stats.", body = Stats),
        (status = 400, description = BAD_ID, body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's).", body = ErrorBody),
        (status = 502, description = NODE_FAILED, body = ErrorBody),
        (status = 503, description = NO_AGENT, body = ErrorBody),
    ),
)]
pub(super) async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Stats>, ApiError> {
    let server = visible(&state, caller, id).await?;
    Ok(Json(agent(&state)?.stats(server.id).await?))
}
