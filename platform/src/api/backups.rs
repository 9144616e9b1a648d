//! `/api/servers/{id}/backup`, `/backups` and `/restore`: snapshots of a
//! server's data in the platform's backup store.
//!
//! A backup asks the server's node for a consistent snapshot of its data
//! (it may be running: databases are copied with SQLite's `VACUUM INTO`)
//! and keeps it in the backup store (a local directory, or an S3-compatible
//! bucket). A restore stops the server if it runs (recording it
//! hibernated), puts the snapshot back in place of its data, and leaves it
//! asleep: the next player, or a wake, starts it on the restored data.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use super::doc::{BAD_ID, NODE_FAILED, NO_AGENT, WRONG_SHAPE};
use super::{ApiError, AppState, Caller, ErrorBody, PathId};
use gsp_control::backup::{BackupError, BackupInfo};
use gsp_control::servers::Server;

impl From<BackupError> for ApiError {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            BackupError::BadName(_) => ApiError::BadRequest(e.to_string()),
            BackupError::Store(_) => ApiError::BadGateway(e.to_string()),
            _ => ApiError::Internal(e.to_string()),
        }
    }
}

const NO_STORE: &str = "No backup store is configured.";

/// Takes a backup of a server's data now.
#[utoipa::path(
    post,
    path = "/api/servers/{id}/backup",
    operation_id = "backup_server",
    tag = "servers",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    responses(
        (status = 201, description = "The backup, stored.", body = BackupInfo),
        (status = 400, description = BAD_ID, body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's).", body = ErrorBody),
        (status = 502, description = NODE_FAILED, body = ErrorBody),
        (status = 503, description = "No node agent is connected, or no backup store is configured.", body = ErrorBody),
    ),
)]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<(StatusCode, Json<BackupInfo>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.hosting.back_up(caller, id).await?),
    ))
}

/// A server's backups, newest first.
#[utoipa::path(
    get,
    path = "/api/servers/{id}/backups",
    operation_id = "list_backups",
    tag = "servers",
    security(("api_key" = []), ("session" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    responses(
        (status = 200, description = "Its backups, newest first.", body = Vec<BackupInfo>),
        (status = 400, description = BAD_ID, body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's).", body = ErrorBody),
        (status = 503, description = NO_STORE, body = ErrorBody),
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Json<Vec<BackupInfo>>, ApiError> {
    Ok(Json(state.hosting.backups(caller, id).await?))
}

/// `POST /api/servers/{id}/restore` body.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct Restore {
    /// The backup's name, from the list of backups.
    #[schema(example = "1763740800000.tar.gz")]
    backup: String,
}

/// Brings a server's data back to a backup. A running server is stopped
/// first; the server is left hibernated.
#[utoipa::path(
    post,
    path = "/api/servers/{id}/restore",
    operation_id = "restore_server",
    tag = "servers",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The server's id.")),
    request_body = Restore,
    responses(
        (status = 200, description = "The server, hibernated, with the backup's data.", body = Server),
        (status = 400, description = "A bad id, the body is not JSON, or the name is not a backup's.", body = ErrorBody),
        (status = 404, description = "No such server (or not the caller's), or no such backup.", body = ErrorBody),
        (status = 422, description = WRONG_SHAPE, body = ErrorBody),
        (status = 502, description = NODE_FAILED, body = ErrorBody),
        (status = 503, description = NO_AGENT, body = ErrorBody),
    ),
)]
pub(super) async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    body: Result<Json<Restore>, JsonRejection>,
) -> Result<Json<Server>, ApiError> {
    let Json(Restore { backup }) = body?;
    Ok(Json(state.hosting.restore(caller, id, &backup).await?))
}

/// Server `id`'s backups, newest first, or `None` when no store is set up.
pub(crate) async fn listed(state: &AppState, id: i64) -> Result<Option<Vec<BackupInfo>>, ApiError> {
    match state.hosting.backup_store() {
        Some(store) => Ok(Some(store.list(id).await?)),
        None => Ok(None),
    }
}
