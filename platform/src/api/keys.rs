//! `/api/keys`: a caller's own API keys.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::doc::{BAD_ID, BAD_JSON, WRONG_SHAPE};
use super::{ApiError, AppState, Caller, ErrorBody, PathId};
use gsp_control::auth::ApiKey;

/// An API key as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Its id.
    id: i64,
    /// The name its owner gave it.
    name: String,
    /// The start of the key, to tell keys apart.
    #[schema(example = "gsp_ak_3f9a")]
    prefix: String,
    /// When it was made, ms since the epoch.
    created_at: i64,
    /// Whether it has been revoked.
    revoked: bool,
    /// When it was last used, ms since the epoch; null if never.
    #[schema(required = true)]
    last_used_at: Option<i64>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        KeyView {
            id: k.id,
            name: k.name,
            prefix: k.shown_prefix,
            created_at: k.created_at,
            revoked: k.revoked_at.is_some(),
            last_used_at: k.last_used_at,
        }
    }
}

/// The caller's API keys, revoked ones too.
#[utoipa::path(
    get,
    path = "/api/keys",
    operation_id = "list_keys",
    tag = "account",
    security(("api_key" = []), ("session" = [])),
    responses((status = 200, description = "The caller's keys.", body = Vec<KeyView>)),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let keys = state.keys.list(caller.user_id).await?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

/// `POST /api/keys` body.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct NewKey {
    /// A name to tell it by (empty if left out).
    #[serde(default)]
    name: String,
}

/// A new key: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Created {
    #[serde(flatten)]
    key: KeyView,
    /// The key itself, for `Authorization: Bearer`; store it now, it is
    /// never shown again.
    #[schema(example = "gsp_ak_…")]
    secret: String,
}

/// Makes an API key for the caller.
#[utoipa::path(
    post,
    path = "/api/keys",
    operation_id = "create_key",
    tag = "account",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    request_body = NewKey,
    responses(
        (status = 201, description = "The new key, with its secret.", body = Created),
        (status = 404, description = "The caller's user is gone.", body = ErrorBody),
        (status = 400, description = BAD_JSON, body = ErrorBody),
        (status = 422, description = WRONG_SHAPE, body = ErrorBody),
    ),
)]
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewKey>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(body) = body?;
    let (key, secret) = state.keys.create(caller.user_id, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            key: key.into(),
            secret,
        }),
    ))
}

/// Revokes one of the caller's API keys.
#[utoipa::path(
    delete,
    path = "/api/keys/{id}",
    operation_id = "revoke_key",
    tag = "account",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    params(("id" = i64, Path, description = "The key's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, description = BAD_ID, body = ErrorBody),
        (status = 404, description = "The caller has no such key.", body = ErrorBody),
    ),
)]
pub(super) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    state.keys.revoke(caller.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
