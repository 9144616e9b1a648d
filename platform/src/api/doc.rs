//! The API's OpenAPI document: its info block, tags and security schemes,
//! the answers every authenticated call shares, and `GET /openapi.json`.
//!
//! The operations themselves are not listed here: each handler carries its
//! own `#[utoipa::path]`, and [`super::routes`] registers handler and
//! description together, so the document and the router cannot drift.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder,
};
use utoipa::{Modify, OpenApi, PartialSchema};

use super::{ApiError, ErrorBody};

/// The security scheme of `Authorization: Bearer gsp_ak_…`.
pub(super) const API_KEY: &str = "api_key";
/// The security scheme of the dashboard's session cookie.
pub(super) const SESSION: &str = "session";
/// The security scheme of the session's CSRF token, which cookie callers
/// send with every call that changes state.
pub(super) const CSRF: &str = "csrf";

/// 400 for a JSON body that does not parse.
pub(super) const BAD_JSON: &str =
    "The body is not JSON, or not sent as `Content-Type: application/json`.";
/// 400 for a path whose `{id}` is not an integer.
pub(super) const BAD_ID: &str = "The id in the path is not an integer.";
/// 422 for a JSON body of the wrong shape.
pub(super) const WRONG_SHAPE: &str = "The JSON lacks a field, or has one of the wrong type.";
/// 403 for admin-only calls.
pub(super) const ADMINS_ONLY: &str = "The caller is not an admin.";
/// 503 for calls that need a node agent.
pub(super) const NO_AGENT: &str = "No node agent is connected.";
/// 502 for calls whose node agent failed.
pub(super) const NODE_FAILED: &str = "The node agent failed; the message says why.";
/// 500 for calls that failed on the platform's side.
pub(super) const INTERNAL: &str = "The platform failed; the details are in its log, not here.";

const DESCRIPTION: &str = "\
The GSP platform's JSON API: the caller and their API keys, credits and \
billing, game templates, and the servers customers run from them.

Every call under `/api` names its caller, either with an API key \
(`Authorization: Bearer gsp_ak_…`, made with `POST /api/keys` or \
`gsp platform apikey create`) or, from the dashboard, with the session \
cookie; a cookie caller also sends the session's CSRF token in \
`X-CSRF-Token` on every call that changes state. Calls are rate limited \
per caller. Errors are JSON, `{\"error\": \"...\"}`, with the status that \
fits. Amounts are integer milli-credits (1000 make one credit); times are \
milliseconds since the Unix epoch.";

/// The document's fixed parts; [`super::routes`] adds the operations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "GSP platform API",
        version = env!("CARGO_PKG_VERSION"),
        description = DESCRIPTION,
    ),
    tags(
        (name = "meta", description = "The platform's health and this document."),
        (name = "account", description = "The caller and their API keys."),
        (name = "billing", description = "Credits: balances, history, grants and payments."),
        (name = "servers", description = "Game templates and the servers made from them."),
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
)]
pub(super) struct ApiDoc;

/// Adds the three ways to name a caller.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("gsp_ak_…")
                    .description(Some(
                        "An API key: `Authorization: Bearer gsp_ak_…`. Keys act as \
                         their user, with the user's role.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                gsp_control::auth::cookie::SECURE_NAME,
                "The dashboard's session cookie (`gsp_session` over plain HTTP). \
                 Calls that change state also need the `csrf` scheme.",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token; cookie callers send it on every \
                 call that changes state.",
            ))),
        );
    }
}

/// Adds what the [`Caller`](super::Caller) extractor can answer to every
/// operation that names a caller: 401 without one, 429 when it calls too
/// often, 500 when the store fails, and 403 without the CSRF token where
/// the operation needs one. A handler's own description of a status wins.
pub(super) fn add_caller_responses(openapi: &mut Document) {
    for item in openapi.paths.paths.values_mut() {
        // As in the extractor: every method but GET, HEAD and OPTIONS
        // changes state.
        let reads = [&mut item.get].into_iter().map(|o| (o, false));
        let writes = [
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .map(|o| (o, true));
        for (operation, changes) in reads.chain(writes) {
            if let Some(operation) = operation {
                add_to_operation(operation, changes);
            }
        }
    }
}

fn add_to_operation(operation: &mut Operation, changes_state: bool) {
    if operation.security.as_ref().is_none_or(Vec::is_empty) {
        return;
    }
    let error = |description: &str| {
        ResponseBuilder::new().description(description).content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
    };
    let mut common = vec![
        (
            "401",
            error(
                "No caller: no credentials, an unknown or revoked API key, \
                 or no signed-in session.",
            )
            .build(),
        ),
        (
            "429",
            error("The caller made too many calls; wait as `Retry-After` says.")
                .header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(u64::schema()))
                        .description(Some("Seconds to wait before calling again."))
                        .build(),
                )
                .build(),
        ),
        ("500", error(INTERNAL).build()),
    ];
    if changes_state {
        let csrf = "Signed in by cookie, without the session's `X-CSRF-Token`.";
        match operation.responses.responses.get_mut("403") {
            Some(RefOr::T(own)) => own.description = format!("{} Or: {csrf}", own.description),
            _ => common.push(("403", error(csrf).build())),
        }
    }
    for (status, response) in common {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| response.into());
    }
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    responses(
        (status = 200, description = "This document, OpenAPI 3.1.", body = Object,
            content_type = "application/json"),
        (status = 500, description = INTERNAL, body = ErrorBody),
    ),
)]
pub(super) async fn openapi_json() -> Result<impl IntoResponse, ApiError> {
    static JSON: OnceLock<Result<String, String>> = OnceLock::new();
    let json = JSON
        .get_or_init(|| super::openapi().to_json().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ApiError::Internal(format!("the OpenAPI document failed to render: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json.as_str()))
}
