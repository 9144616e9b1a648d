//! The account page: who you are, your API keys (made, shown once,
//! revoked) and the TOTP second factor (set up with a QR-ready URI, then
//! recovery codes shown once).

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::guard::Failure;
use super::page::{csrf_field, layout, notice, when};
use super::viewer::Viewer;
use crate::api::{ApiError, AppState};
use gsp_control::auth::AuthError;

/// What the page shows once, after an action.
#[derive(Default)]
struct Once<'a> {
    ok: Option<&'a str>,
    error: Option<&'a str>,
    new_key: Option<&'a str>,
    /// TOTP being set up: the secret and its `otpauth://` URI.
    totp_setup: Option<(&'a str, &'a str)>,
    recovery_codes: Option<&'a [String]>,
}

async fn account_page(
    state: &AppState,
    viewer: &Viewer,
    once: Once<'_>,
) -> Result<Markup, Failure> {
    let keys = state
        .keys
        .list(viewer.user.id)
        .await
        .map_err(ApiError::from)?;
    let body = html! {
        div.page-head { h1 { "Account" } }
        (notice(once.ok, true))
        (notice(once.error, false))
        section.card {
            h2 { "You" }
            p { (viewer.user.email) " " span.badge.(viewer.user.role.as_str()) { (viewer.user.role.as_str()) } }
        }
        section.card #keys {
            h2 { "API keys" }
            p.muted { "Use a key as " code { "Authorization: Bearer <key>" } " with the API. The API is described at " a href="/openapi.json" { "/openapi.json" } "." }
            @if let Some(secret) = once.new_key {
                p { strong { "Your new key. Copy it now: it will not be shown again." } }
                p.secret #new-key { (secret) }
            }
            @if !keys.is_empty() {
                table.stack {
                    thead { tr { th { "Name" } th { "Key" } th { "Created" } th { "Last used" } th {} } }
                    tbody {
                        @for k in &keys {
                            tr {
                                td data-label="Name" { (k.name) }
                                td.mono data-label="Key" { (k.shown_prefix) "…" }
                                td data-label="Created" { (when(k.created_at)) }
                                td data-label="Last used" { (k.last_used_at.map_or_else(|| "never".to_string(), when)) }
                                td {
                                    @if let Some(at) = k.revoked_at {
                                        span.muted { "revoked " (when(at)) }
                                    } @else {
                                        form.inline method="post" action={ "/account/keys/" (k.id) "/revoke" } {
                                            (csrf_field(viewer))
                                            button.secondary type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.row method="post" action="/account/keys" {
                (csrf_field(viewer))
                label { "Name" input type="text" name="name" required maxlength="64" placeholder="deploy script"; }
                button type="submit" { "Create key" }
            }
        }
        section.card #totp {
            h2 { "Two-factor sign-in" }
            @if let Some(codes) = once.recovery_codes {
                p { strong { "Two-factor sign-in is on. Keep these recovery codes somewhere safe: each works once, and they will not be shown again." } }
                ol.codes { @for c in codes { li { (c) } } }
            } @else if viewer.user.totp_enabled {
                p { span.badge.running { "on" } " Sign-in asks for a code from your authenticator app." }
            } @else if let Some((secret, uri)) = once.totp_setup {
                p { "Add this account to your authenticator app: open the link on your phone, or type the key in." }
                p.secret { a href=(uri) { (uri) } }
                p { "Key: " span.mono #totp-secret { (secret) } }
                form.row method="post" action="/account/totp/confirm" {
                    (csrf_field(viewer))
                    input type="hidden" name="secret" value=(secret);
                    label { "Code from the app" input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required; }
                    button type="submit" { "Turn on" }
                }
            } @else {
                p.muted { "Off. With it on, signing in also asks for a code from an authenticator app." }
                form method="post" action="/account/totp/begin" {
                    (csrf_field(viewer))
                    button.secondary type="submit" { "Set up two-factor sign-in" }
                }
            }
        }
    };
    Ok(layout("Account", Some(viewer), body))
}

/// `GET /account`.
pub(super) async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Markup, Failure> {
    account_page(&state, &viewer, Once::default()).await
}

/// A form with only the CSRF field.
#[derive(Debug, Deserialize)]
pub(super) struct Plain {
    csrf: String,
}

/// `POST /account/keys` fields.
#[derive(Debug, Deserialize)]
pub(super) struct NewKey {
    csrf: String,
    name: String,
}

/// `POST /account/keys`: makes a key and shows it, once.
pub(super) async fn create_key(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<NewKey>, FormRejection>,
) -> Result<Response, Failure> {
    let Form(f) =
        form.map_err(|_| Failure::new(StatusCode::BAD_REQUEST, "Give the key a name."))?;
    viewer.check_csrf(&f.csrf)?;
    let (_, secret) = state
        .keys
        .create(viewer.user.id, &f.name)
        .await
        .map_err(ApiError::from)?;
    let once = Once {
        new_key: Some(&secret),
        ..Once::default()
    };
    Ok(account_page(&state, &viewer, once).await?.into_response())
}

/// `POST /account/keys/{id}/revoke`.
pub(super) async fn revoke_key(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    form: Result<Form<Plain>, FormRejection>,
) -> Result<Response, Failure> {
    viewer.check_csrf(form.map(|Form(f)| f.csrf).as_deref().unwrap_or(""))?;
    state
        .keys
        .revoke(viewer.user.id, id)
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to("/account#keys").into_response())
}

/// `POST /account/totp/begin`: shows a new secret to add to an app.
pub(super) async fn totp_begin(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<Plain>, FormRejection>,
) -> Result<Response, Failure> {
    viewer.check_csrf(form.map(|Form(f)| f.csrf).as_deref().unwrap_or(""))?;
    if viewer.user.totp_enabled {
        return Ok(Redirect::to("/account#totp").into_response());
    }
    let (secret, uri) = state
        .users
        .begin_totp(&viewer.user)
        .map_err(ApiError::from)?;
    let once = Once {
        totp_setup: Some((&secret, &uri)),
        ..Once::default()
    };
    Ok(account_page(&state, &viewer, once).await?.into_response())
}

/// `POST /account/totp/confirm` fields.
#[derive(Debug, Deserialize)]
pub(super) struct ConfirmTotp {
    csrf: String,
    secret: String,
    code: String,
}

/// `POST /account/totp/confirm`: turns TOTP on when the code matches,
/// and shows the recovery codes once.
pub(super) async fn totp_confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<ConfirmTotp>, FormRejection>,
) -> Result<Response, Failure> {
    let Form(f) =
        form.map_err(|_| Failure::new(StatusCode::BAD_REQUEST, "Enter the code from your app."))?;
    viewer.check_csrf(&f.csrf)?;
    let now = gsp_control::auth::now_secs();
    match state
        .users
        .confirm_totp(viewer.user.id, &f.secret, f.code.trim(), now)
        .await
    {
        Ok(codes) => {
            let mut viewer = viewer;
            viewer.user.totp_enabled = true;
            let once = Once {
                recovery_codes: Some(&codes),
                ..Once::default()
            };
            Ok(account_page(&state, &viewer, once).await?.into_response())
        }
        Err(AuthError::BadCode) => {
            let uri =
                gsp_control::auth::totp::provisioning_uri("GSP", &viewer.user.email, &f.secret);
            let once = Once {
                error: Some(
                    "That code does not match. Check the time on your phone and try the next code.",
                ),
                totp_setup: Some((&f.secret, &uri)),
                ..Once::default()
            };
            Ok((
                StatusCode::BAD_REQUEST,
                account_page(&state, &viewer, once).await?,
            )
                .into_response())
        }
        Err(e) => Err(ApiError::from(e).into()),
    }
}
