//! What a signed-in page demands of its request: a [`Viewer`] (anyone
//! else is sent to `/signin`), the session's CSRF token on forms, an admin
//! where it says so; and [`Failure`], the error page shown otherwise.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::page;
use super::viewer::{session_token, Viewer};
use crate::api::{ApiError, AppState};

impl Viewer {
    /// `Ok` when `submitted` (a form's `csrf` field) is the session's
    /// token; otherwise the 403 page.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), Failure> {
        if self.session.csrf_ok(submitted) {
            Ok(())
        } else {
            Err(Failure::new(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this site. Go back, reload the page and try again.",
            ))
        }
    }

    /// 403 unless the viewer is an admin.
    pub fn require_admin(&self) -> Result<(), Failure> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Failure::new(
                StatusCode::FORBIDDEN,
                "Only admins may see this page.",
            ))
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_signin = || Redirect::to("/signin").into_response();
        let Some(token) = session_token(&parts.headers) else {
            return Err(to_signin());
        };
        let session = state
            .sessions
            .get(token)
            .await
            .map_err(|e| Failure::from(ApiError::from(e)).into_response())?;
        let Some(session) = session else {
            return Err(to_signin());
        };
        if !session.complete {
            return Err(Redirect::to("/signin/totp").into_response());
        }
        let user = state
            .users
            .get(session.user_id)
            .await
            .map_err(|e| Failure::from(ApiError::from(e)).into_response())?
            .ok_or_else(to_signin)?;
        Ok(Viewer { user, session })
    }
}

/// A page that failed: a status and a message for the user, shown in the
/// site's layout.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    /// A failure page with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        let status = e.status();
        if let ApiError::Internal(detail) = &e {
            tracing::error!("dashboard page failed: {detail}");
        }
        Failure::new(status, e.to_string())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = page::layout(
            title,
            None,
            html! {
                section.card.narrow {
                    h1 { (title) }
                    p { (self.message) }
                    p { a href="/" { "Back to the dashboard" } }
                }
            },
        );
        (self.status, body).into_response()
    }
}
