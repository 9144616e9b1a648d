//! The dashboard: server-rendered HTML pages for customers and admins.
//!
//! Pages are [maud] templates rendered on the server; there is no
//! JavaScript build step. One small hand-written script (`/static/live.js`)
//! follows a server's logs and stats over server-sent events, and the pages
//! work without it. The stylesheet (`/static/app.css`) is plain CSS, laid
//! out for phones first.
//!
//! Security, page by page:
//! - Signed-in pages read the session cookie ([`viewer::Viewer`]); anyone
//!   else is sent to `/signin`. A session still owing its TOTP code may only
//!   give it.
//! - Every form that changes something carries the session's CSRF token
//!   in a hidden `csrf` field and is refused with 403 without it. The
//!   sign-in form, which has no session yet, uses a double-submit token
//!   (a cookie and a field that must match).
//! - Sign-in attempts are rate limited per client address and per email.
//! - Every response carries a strict `Content-Security-Policy` (scripts and
//!   styles from this origin only), `X-Frame-Options: DENY` and
//!   `Referrer-Policy: same-origin`.
//!
//! The pages call the same code as the JSON API (the rules of
//! [`gsp_control`], [`gsp_control::hosting`] for every state change), so
//! the dashboard and the API cannot disagree on rules: ownership, billing
//! holds, state changes.
//!
//! # Layout
//!
//! - `signin`, `oidc`: email and password (with the TOTP step), and
//!   OpenID Connect sign-in.
//! - `servers`: the servers list, a server's page (live logs and stats),
//!   its actions and backups.
//! - `billing`, `account`, `admin`: the wallet, API keys and TOTP, and the
//!   admins' users, templates and nodes.
//! - [`viewer`]: who is looking; [`guard`]: what a page demands of the
//!   request, and the error page; `page`: the frame and shared pieces;
//!   `statics`: the stylesheet and script.

mod account;
mod admin;
mod billing;
pub mod guard;
mod oidc;
mod page;
mod servers;
mod signin;
mod statics;
pub mod viewer;

use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::api::AppState;

/// The dashboard's routes (no fallback: the caller merges them with the
/// API's router).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(servers::home))
        .route("/signin", get(signin::form).post(signin::submit))
        .route(
            "/signin/totp",
            get(signin::totp_form).post(signin::totp_submit),
        )
        .route("/signout", post(signin::signout))
        .route("/auth/oidc/{provider}", get(oidc::start))
        .route("/auth/oidc/{provider}/callback", get(oidc::callback))
        .route("/servers", get(servers::list).post(servers::create))
        .route("/servers/{id}", get(servers::page))
        .route("/servers/{id}/events", get(servers::events))
        .route("/servers/{id}/{action}", post(servers::act))
        .route("/billing", get(billing::page))
        .route("/account", get(account::page))
        .route("/account/keys", post(account::create_key))
        .route("/account/keys/{id}/revoke", post(account::revoke_key))
        .route("/account/totp/begin", post(account::totp_begin))
        .route("/account/totp/confirm", post(account::totp_confirm))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/credits", post(admin::grant))
        .route(
            "/admin/templates",
            get(admin::templates).post(admin::create_template),
        )
        .route("/admin/templates/shipped", post(admin::add_shipped))
        .route("/admin/nodes", get(admin::nodes).post(admin::create_node))
        .route("/static/{file}", get(statics::serve))
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// The headers every dashboard response carries (see the module docs).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}
