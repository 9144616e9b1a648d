//! `/api/keys`: a caller's own API keys.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, Caller};
use crate::auth::ApiKey;

/// An API key as listed.
#[derive(Debug, Serialize)]
pub struct KeyView {
    id: i64,
    name: String,
    prefix: String,
    created_at: i64,
    revoked: bool,
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

pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let keys = state.keys.list(caller.user_id).await?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

/// `POST /api/keys` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewKey {
    #[serde(default)]
    name: String,
}

/// A new key: the only time its secret is shown.
#[derive(Debug, Serialize)]
pub(super) struct Created {
    #[serde(flatten)]
    key: KeyView,
    secret: String,
}

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

pub(super) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.keys.revoke(caller.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
