//! API errors: a status code and `{"error": "..."}`.

use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use gsp_control::auth::AuthError;

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"error": "no such server"}))]
pub struct ErrorBody {
    /// What went wrong, fit to show a user.
    pub error: String,
}

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// 422: well-formed JSON of the wrong shape.
    #[error("{0}")]
    Unprocessable(String),
    /// 401: no caller, or an unknown one.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing (or not the caller's).
    #[error("{0}")]
    NotFound(String),
    /// 409: it conflicts with what exists.
    #[error("{0}")]
    Conflict(String),
    /// 429: too many calls; retry after the duration.
    #[error("too many requests; retry in {} s", .0.as_secs().max(1))]
    TooManyRequests(Duration),
    /// 502: a node agent failed.
    #[error("{0}")]
    BadGateway(String),
    /// 503: something the call needs is not there (no node agent).
    #[error("{0}")]
    Unavailable(String),
    /// 500: our fault; the details go to the log, not the caller.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The status code this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!("API call failed: {detail}");
        }
        let body = Json(ErrorBody {
            error: self.to_string(),
        });
        let mut response = (self.status(), body).into_response();
        if let ApiError::TooManyRequests(wait) = self {
            if let Ok(v) = wait.as_secs().max(1).to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        if e.status() == StatusCode::UNPROCESSABLE_ENTITY {
            ApiError::Unprocessable(e.body_text())
        } else {
            ApiError::BadRequest(e.body_text())
        }
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::BadCredentials => ApiError::Unauthorized(e.to_string()),
            AuthError::BadEmail | AuthError::WeakPassword(_) | AuthError::BadCode => {
                ApiError::BadRequest(e.to_string())
            }
            AuthError::EmailTaken => ApiError::Conflict(e.to_string()),
            AuthError::NotFound => ApiError::NotFound(e.to_string()),
            AuthError::Random(_) | AuthError::Store(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<gsp_store::StoreError> for ApiError {
    fn from(e: gsp_store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}
