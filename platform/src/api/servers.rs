//! `/api/templates` and `/api/servers`: what customers run.
//!
//! Changes go through [`gsp_control::hosting`]: creating or waking a
//! server starts it, hibernating stops it, deleting removes it. The
//! database records the state change first and the node acts after, so a
//! failed node call leaves a recorded state that the next attempt (or the
//! node's own report) settles; the caller gets 502 with the reason.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use super::doc::{ADMINS_ONLY, BAD_ID, NODE_FAILED, NO_AGENT, WRONG_SHAPE};
use super::{ApiError, AppState, Caller, ErrorBody, PathId};
use gsp_agent_api::ConsoleLine;
use gsp_control::billing::BillError;
use gsp_control::hosting::HostingError;
use gsp_control::servers::orchestrator::{OrchestratorError, Stats};
use gsp_control::servers::{NewTemplate, Server, ServerError, Template};

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

impl From<OrchestratorError> for ApiError {
    fn from(e: OrchestratorError) -> Self {
        match e {
            OrchestratorError::NoCapacity => ApiError::Conflict(e.to_string()),
            OrchestratorError::Unknown
            | OrchestratorError::Node(_)
            | OrchestratorError::Agent { .. } => ApiError::BadGateway(e.to_string()),
            OrchestratorError::Store(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<HostingError> for ApiError {
    fn from(e: HostingError) -> Self {
        match e {
            HostingError::NotFound => ApiError::NotFound(e.to_string()),
            HostingError::OwnerOnly => ApiError::Forbidden(e.to_string()),
            HostingError::NoTemplate(_) => ApiError::BadRequest(e.to_string()),
            HostingError::Insufficient { .. } | HostingError::Crashed(_) => {
                ApiError::Conflict(e.to_string())
            }
            HostingError::NoOrchestrator | HostingError::NoBackupStore => {
                ApiError::Unavailable(e.to_string())
            }
            HostingError::Server(e) => e.into(),
            HostingError::Bill(e) => e.into(),
            HostingError::Ledger(e) => e.into(),
            HostingError::Orchestrator(e) => e.into(),
            HostingError::Backup(e) => e.into(),
        }
    }
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
    super::require_admin(&caller)?;
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
    let server = state
        .hosting
        .create(caller, new.template_id, &new.name)
        .await?;
    Ok((StatusCode::CREATED, Json(server)))
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
    Ok(Json(state.hosting.visible(caller, id).await?))
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
    state.hosting.delete(caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a hibernated (or crashed) server again.
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
    Ok(Json(state.hosting.wake(caller, id).await?))
}

/// Writes a line to a running server's console (its standard input),
/// echoed in its log as `> line`. Its owner only.
#[utoipa::path(
    post,
    path = "/api/servers/{id}/console",
    operation_id = "server_console",
    tag = "servers",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    request_body = ConsoleLine,
    responses(
        (status = 204, description = "The line was written."),
        (status = 400, description = "A bad id, the body is not JSON, or the line is empty, too long or not printable text.", body = ErrorBody),
        (status = 403, description = "Only the server's owner can use its console.", body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's).", body = ErrorBody),
        (status = 409, description = "It is not running.", body = ErrorBody),
        (status = 422, description = WRONG_SHAPE, body = ErrorBody),
        (status = 502, description = NODE_FAILED, body = ErrorBody),
        (status = 503, description = NO_AGENT, body = ErrorBody),
    ),
)]
pub(super) async fn console(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    body: Result<Json<ConsoleLine>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(line) = body?;
    state.hosting.console(caller, id, &line.line).await?;
    Ok(StatusCode::NO_CONTENT)
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
    Ok(Json(state.hosting.hibernate(caller, id).await?))
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
    Ok(Json(state.hosting.logs(caller, id, 200).await?))
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
    Ok(Json(state.hosting.stats(caller, id).await?))
}
