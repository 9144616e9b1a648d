//! Sign-in with OpenID Connect providers: `/auth/oidc/{provider}` sends
//! the browser to the provider, and `/auth/oidc/{provider}/callback` takes
//! it back. The protocol checks (discovery, PKCE, state, nonce, the ID
//! token) live in [`gsp_control::auth::oidc`]; this is the HTTP shell.
//!
//! The sign-in's `state` also goes into a short-lived cookie, so the
//! callback only completes in the browser that started it. The cookie is
//! `SameSite=Lax`, not `Strict`: the provider's redirect back is a
//! cross-site navigation, and a strict cookie would not come with it.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::Failure;
use super::signin::start_session;
use super::viewer::cookie_in;
use crate::api::AppState;
use gsp_control::auth::cookie::{self, SameSite};
use gsp_control::auth::oidc::pending::PENDING_LIFETIME_SECS;
use gsp_control::auth::oidc::{Oidc, OidcError};
use gsp_control::auth::OidcUserError;

const STATE_COOKIE: &str = "gsp_oidc_state";

fn state_cookie(state: &AppState, value: &str, max_age: u64) -> String {
    cookie::build(
        STATE_COOKIE,
        value,
        "/auth/oidc",
        SameSite::Lax,
        state.secure_cookies,
        Duration::from_secs(max_age),
    )
}

fn configured(state: &AppState) -> Result<&Oidc, Failure> {
    state.oidc.as_ref().ok_or_else(|| {
        Failure::new(
            StatusCode::NOT_FOUND,
            "Sign-in with other providers is not set up here.",
        )
    })
}

/// The status a failed sign-in answers with.
fn status_of(e: &OidcError) -> StatusCode {
    match e {
        OidcError::UnknownProvider(_) => StatusCode::NOT_FOUND,
        OidcError::NoStateCookie
        | OidcError::StateMismatch
        | OidcError::UnknownState
        | OidcError::Expired
        | OidcError::WrongProvider => StatusCode::BAD_REQUEST,
        OidcError::Denied { .. } | OidcError::IdToken { .. } => StatusCode::UNAUTHORIZED,
        OidcError::Unreachable { .. }
        | OidcError::Discovery { .. }
        | OidcError::Jwks { .. }
        | OidcError::Token { .. } => StatusCode::BAD_GATEWAY,
        OidcError::Random(_) | OidcError::Setup(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn failure(e: &OidcError) -> Failure {
    tracing::info!("OpenID Connect sign-in failed: {e}");
    let mut message = e.to_string();
    if let Some(first) = message.get(..1) {
        message = first.to_uppercase() + &message[1..];
    }
    Failure::new(status_of(e), message + ".")
}

/// `GET /auth/oidc/{provider}`.
pub(super) async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Response, Failure> {
    let oidc = configured(&state)?;
    let begun = oidc.begin(&provider).await.map_err(|e| failure(&e))?;
    Ok((
        AppendHeaders([(
            SET_COOKIE,
            state_cookie(&state, &begun.state, PENDING_LIFETIME_SECS),
        )]),
        Redirect::to(&begun.authorize_url),
    )
        .into_response())
}

/// What a provider sends back.
#[derive(Debug, Deserialize)]
pub(super) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/oidc/{provider}/callback`.
pub(super) async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Query(back): Query<Callback>,
) -> Result<Response, Failure> {
    let oidc = configured(&state)?;
    let identity = match (&back.error, &back.code, &back.state) {
        (Some(error), _, _) => {
            return Err(failure(&oidc.provider_error(
                &provider,
                back.state.as_deref(),
                error,
                back.error_description.as_deref(),
            )))
        }
        (None, Some(code), Some(st)) => oidc
            .finish(&provider, cookie_in(&headers, STATE_COOKIE), st, code)
            .await
            .map_err(|e| failure(&e))?,
        _ => {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "The provider's answer has no code or state. Please start again.",
            ))
        }
    };
    let user = match state.users.sign_in_oidc(&identity).await {
        Ok(u) => u,
        Err(e @ OidcUserError::UnverifiedEmail) => {
            return Err(Failure::new(StatusCode::FORBIDDEN, format!("Sorry: {e}.")))
        }
        Err(OidcUserError::Auth(e)) => return Err(crate::api::ApiError::from(e).into()),
    };
    let mut response = start_session(&state, &headers, &user).await;
    if let Ok(v) = state_cookie(&state, "", 0).parse() {
        response.headers_mut().append(SET_COOKIE, v);
    }
    Ok(response)
}
