//! Who is looking at a page: the signed-in [`Viewer`], and where the
//! request's cookies carry the session. [`super::guard`] finds the viewer
//! of a request and turns it away when it may not see the page.

use axum::http::{header, HeaderMap};

use crate::api::Caller;
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
