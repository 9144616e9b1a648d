//! Signing in and out: email and password, then the TOTP code when the
//! user has one; sign-in buttons for the OpenID Connect providers.
//!
//! The sign-in form has no session to take a CSRF token from, so it uses a
//! double-submit token: `GET /signin` sets a random token in a
//! `SameSite=Strict` cookie and in a hidden field, and the post must bring
//! both, equal. A site that cannot read our cookies cannot forge it, so it
//! cannot sign a visitor in as someone else (login CSRF).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use gsp_store::token;
use maud::{html, Markup};
use serde::Deserialize;

use super::guard::Failure;
use super::page::{layout, notice};
use super::viewer::{cookie_in, session_token};
use crate::api::{ApiError, AppState};
use gsp_control::auth::cookie::SameSite;
use gsp_control::auth::sessions::SESSION_LIFETIME;
use gsp_control::auth::{cookie, same_secret, AuthError};

/// The double-submit cookie of the sign-in form.
const SIGNIN_COOKIE: &str = "gsp_signin";
const SIGNIN_PREFIX: &str = "gsp_pre_";

fn signin_cookie(state: &AppState, value: &str, max_age: Duration) -> String {
    cookie::build(
        SIGNIN_COOKIE,
        value,
        "/signin",
        SameSite::Strict,
        state.secure_cookies,
        max_age,
    )
}

/// The sign-in page: `email` kept after a failed try, `error` shown.
fn signin_page(state: &AppState, csrf: &str, email: &str, error: Option<&str>) -> Markup {
    let providers = state.oidc_providers();
    layout(
        "Sign in",
        None,
        html! {
            section.card.narrow {
                h1 { "Sign in" }
                (notice(error, false))
                form.stacked method="post" action="/signin" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Email"
                        input type="email" name="email" value=(email) autocomplete="username" required autofocus;
                    }
                    label { "Password"
                        input type="password" name="password" autocomplete="current-password" required;
                    }
                    button type="submit" { "Sign in" }
                }
                @if !providers.is_empty() {
                    p.or { "or" }
                    div.providers {
                        @for (name, label) in &providers {
                            a.button.secondary href={ "/auth/oidc/" (name) } { "Sign in with " (label) }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /signin`.
pub(super) async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        if let Ok(Some(s)) = state.sessions.get(token).await {
            let to = if s.complete {
                "/servers"
            } else {
                "/signin/totp"
            };
            return Redirect::to(to).into_response();
        }
    }
    fresh_form(&state, "", None, StatusCode::OK)
}

/// The form with a new double-submit token.
fn fresh_form(state: &AppState, email: &str, error: Option<&str>, status: StatusCode) -> Response {
    let csrf = match token::generate_with(SIGNIN_PREFIX) {
        Ok(t) => t,
        Err(e) => return Failure::from(ApiError::Internal(e.to_string())).into_response(),
    };
    (
        status,
        AppendHeaders([(
            SET_COOKIE,
            signin_cookie(state, &csrf, Duration::from_secs(1800)),
        )]),
        signin_page(state, &csrf, email, error),
    )
        .into_response()
}

/// `POST /signin` fields.
#[derive(Debug, Deserialize)]
pub(super) struct SigninForm {
    csrf: String,
    email: String,
    password: String,
}

/// `POST /signin`.
pub(super) async fn submit(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<SigninForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return fresh_form(
            &state,
            "",
            Some("Fill in your email and password."),
            StatusCode::BAD_REQUEST,
        );
    };
    let cookie_ok = cookie_in(&headers, SIGNIN_COOKIE).is_some_and(|c| same_secret(c, &f.csrf));
    if !cookie_ok {
        return fresh_form(
            &state,
            &f.email,
            Some("The form expired. Please sign in again."),
            StatusCode::FORBIDDEN,
        );
    }
    let address = peer.map_or_else(
        || "unknown".to_string(),
        |Extension(ConnectInfo(a))| a.ip().to_string(),
    );
    if let Err(wait) = state.check_signin_limit(&address, &f.email, Instant::now()) {
        let message = format!(
            "Too many sign-in attempts. Try again in {} seconds.",
            wait.as_secs().max(1)
        );
        return fresh_form(
            &state,
            &f.email,
            Some(&message),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let user = match state.users.authenticate(&f.email, &f.password).await {
        Ok(user) => user,
        Err(AuthError::BadCredentials) => {
            tracing::info!(%address, "dashboard sign-in refused");
            return fresh_form(
                &state,
                &f.email,
                Some("Wrong email or password."),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => return Failure::from(ApiError::from(e)).into_response(),
    };
    start_session(&state, &headers, &user).await
}

/// Starts a session for `user` (rotating away any old one), sets its
/// cookie and sends them on: to the TOTP step if they have one, else to
/// their servers. Also used after OpenID Connect sign-in.
pub(super) async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &gsp_control::auth::User,
) -> Response {
    let token = match state.sessions.start(user, session_token(headers)).await {
        Ok(t) => t,
        Err(e) => return Failure::from(ApiError::from(e)).into_response(),
    };
    let next = if user.totp_enabled {
        "/signin/totp"
    } else {
        "/servers"
    };
    tracing::info!(user = user.id, "dashboard sign-in");
    (
        AppendHeaders([
            (
                SET_COOKIE,
                cookie::set(&token, state.secure_cookies, SESSION_LIFETIME),
            ),
            (SET_COOKIE, signin_cookie(state, "", Duration::ZERO)),
        ]),
        Redirect::to(next),
    )
        .into_response()
}

fn totp_page(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Two-factor code",
        None,
        html! {
            section.card.narrow {
                h1 { "Two-factor code" }
                p.muted { "Enter the 6-digit code from your authenticator app, or one of your recovery codes." }
                (notice(error, false))
                form.stacked method="post" action="/signin/totp" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Code"
                        input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus;
                    }
                    button type="submit" { "Verify" }
                }
                form method="post" action="/signout" {
                    input type="hidden" name="csrf" value=(csrf);
                    button.link type="submit" { "Cancel and sign out" }
                }
            }
        },
    )
}

/// The pending session of the request (a TOTP code still owed).
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(String, gsp_control::auth::Session), Response> {
    let token = session_token(headers).ok_or_else(|| Redirect::to("/signin").into_response())?;
    match state.sessions.get(token).await {
        Ok(Some(s)) if !s.complete => Ok((token.to_string(), s)),
        Ok(Some(_)) => Err(Redirect::to("/servers").into_response()),
        Ok(None) => Err(Redirect::to("/signin").into_response()),
        Err(e) => Err(Failure::from(ApiError::from(e)).into_response()),
    }
}

/// `GET /signin/totp`.
pub(super) async fn totp_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match pending(&state, &headers).await {
        Ok((_, session)) => totp_page(&session.csrf, None).into_response(),
        Err(r) => r,
    }
}

/// `POST /signin/totp` fields.
#[derive(Debug, Deserialize)]
pub(super) struct TotpForm {
    csrf: String,
    code: String,
}

/// `POST /signin/totp`.
pub(super) async fn totp_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TotpForm>, FormRejection>,
) -> Response {
    let (token, session) = match pending(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(Form(f)) = form else {
        return (
            StatusCode::BAD_REQUEST,
            totp_page(&session.csrf, Some("Enter your code.")),
        )
            .into_response();
    };
    if !session.csrf_ok(&f.csrf) {
        return (
            StatusCode::FORBIDDEN,
            totp_page(&session.csrf, Some("The form expired. Try again.")),
        )
            .into_response();
    }
    let key = format!("user:{}", session.user_id);
    if let Err(wait) = state.check_signin_limit(&key, &key, Instant::now()) {
        let message = format!(
            "Too many attempts. Try again in {} seconds.",
            wait.as_secs().max(1)
        );
        return (
            StatusCode::TOO_MANY_REQUESTS,
            totp_page(&session.csrf, Some(&message)),
        )
            .into_response();
    }
    let now = gsp_control::auth::now_secs();
    match state
        .users
        .second_factor(session.user_id, f.code.trim(), now)
        .await
    {
        Ok(()) => {}
        Err(AuthError::BadCode) => {
            return (
                StatusCode::UNAUTHORIZED,
                totp_page(&session.csrf, Some("That code is not valid.")),
            )
                .into_response()
        }
        Err(e) => return Failure::from(ApiError::from(e)).into_response(),
    }
    match state.sessions.complete(&token).await {
        Ok(fresh) => (
            AppendHeaders([(
                SET_COOKIE,
                cookie::set(&fresh, state.secure_cookies, SESSION_LIFETIME),
            )]),
            Redirect::to("/servers"),
        )
            .into_response(),
        Err(_) => Redirect::to("/signin").into_response(),
    }
}

/// `POST /signout` fields.
#[derive(Debug, Deserialize)]
pub(super) struct SignoutForm {
    csrf: String,
}

/// `POST /signout`: ends the session (also a pending one).
pub(super) async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignoutForm>, FormRejection>,
) -> Response {
    let Some(token) = session_token(&headers) else {
        return Redirect::to("/signin").into_response();
    };
    let session = match state.sessions.get(token).await {
        Ok(Some(s)) => s,
        Ok(None) => return Redirect::to("/signin").into_response(),
        Err(e) => return Failure::from(ApiError::from(e)).into_response(),
    };
    if !form.is_ok_and(|Form(f)| session.csrf_ok(&f.csrf)) {
        return Failure::new(
            StatusCode::FORBIDDEN,
            "Sign-out needs the page's token; go back and use the button.",
        )
        .into_response();
    }
    if let Err(e) = state.sessions.end(token).await {
        return Failure::from(ApiError::from(e)).into_response();
    }
    (
        AppendHeaders([(SET_COOKIE, cookie::clear(state.secure_cookies))]),
        Redirect::to("/signin"),
    )
        .into_response()
}
