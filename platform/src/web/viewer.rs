//! Who is looking at a page: the signed-in [`Viewer`] (from the session
//! cookie), the CSRF check for forms, and [`Failure`], the error page.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::page;
use crate::api::{ApiError, AppState, Caller};
use gsp_control::auth::{cookie, Role, Session, User};

/// A signed-in user looking at a page (second factor given).
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user.
    pub user: User,
    /// Their session (with the CSRF token forms must carry).
    pub session: Session,
}

impl Viewer {
    /// The same caller the JSON API would see.
    pub fn caller(&self) -> Caller {
        Caller {
            user_id: self.user.id,
            role: self.user.role,
        }
    }

    /// Whether the viewer is an admin.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

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

/// The value of cookie `name` in the request, if any.
pub(crate) fn cookie_in<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers).find_map(|h| cookie::value(h, name))
}

/// The session token in the request's cookies, if any.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<&str> {
    cookies(headers).find_map(cookie::token_from_header)
}

fn cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
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
