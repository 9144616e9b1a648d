//! The platform's JSON API under `/api`.
//!
//! Every call names its caller with `Authorization: Bearer gsp_ak_…` (an
//! API key) or, from the dashboard, the session cookie (with the session's
//! CSRF token in `X-CSRF-Token` on anything that changes state). Errors
//! are JSON, `{"error": "..."}`, with the status code that fits. Calls are
//! rate limited per caller.

pub(crate) mod billing;
mod error;
mod keys;
pub(crate) mod servers;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use gsp_persistence::Database;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::auth::ratelimit::RateLimiter;
use crate::auth::{cookie, ApiKeys, Role, Sessions, Users};
use crate::billing::Biller;
use crate::ledger::Ledger;
use crate::servers::agent::Agent;
use crate::servers::Servers;

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The users.
    pub users: Users,
    /// Dashboard sessions.
    pub sessions: Sessions,
    /// API keys.
    pub keys: ApiKeys,
    /// The credits ledger.
    pub ledger: Ledger,
    /// Templates and servers.
    pub servers: Servers,
    /// Posts servers' charges (the hold at wake, the hourly charges).
    pub biller: Biller,
    /// How servers are started and stopped; without one, the calls that
    /// need it answer 503.
    pub agent: Option<Arc<dyn Agent>>,
    /// The payment webhook's signing secret; without one, the webhook
    /// answers 404.
    pub webhook_secret: Option<Arc<str>>,
    /// Whether the dashboard is served over HTTPS: cookies then get
    /// `Secure` and the `__Host-` name.
    pub secure_cookies: bool,
    /// Cancelled when the platform shuts down: long-lived responses (the
    /// dashboard's event streams) end with it.
    pub shutdown: CancellationToken,
    limiter: Arc<Mutex<RateLimiter<String>>>,
    signin_by_address: Arc<Mutex<RateLimiter<String>>>,
    signin_by_email: Arc<Mutex<RateLimiter<String>>>,
}

/// API calls one caller may make at once, and per second sustained.
pub const API_BURST: u32 = 60;
/// See [`API_BURST`].
pub const API_PER_SECOND: f64 = 20.0;
/// Sign-in attempts from one address at once, and per minute sustained.
pub const SIGNIN_BURST_PER_ADDRESS: u32 = 20;
/// Sign-in attempts for one email (or one pending TOTP session) at once,
/// and per minute sustained.
pub const SIGNIN_BURST_PER_EMAIL: u32 = 5;
/// See [`SIGNIN_BURST_PER_ADDRESS`] and [`SIGNIN_BURST_PER_EMAIL`].
pub const SIGNIN_PER_MINUTE: f64 = 6.0;

impl AppState {
    /// With the payment webhook's signing secret.
    pub fn with_webhook_secret(mut self, secret: Option<String>) -> AppState {
        self.webhook_secret = secret.map(Arc::from);
        self
    }

    /// Serving over HTTPS: `Secure` cookies.
    pub fn with_secure_cookies(mut self, secure: bool) -> AppState {
        self.secure_cookies = secure;
        self
    }

    /// Takes one sign-in attempt from `address` for `email`: `Err` with
    /// the wait when either has tried too often.
    pub fn check_signin_limit(
        &self,
        address: &str,
        email: &str,
        now: Instant,
    ) -> Result<(), std::time::Duration> {
        let take = |limiter: &Mutex<RateLimiter<String>>, key: String| {
            limiter
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .check(&key, now)
        };
        take(&self.signin_by_address, address.to_string())?;
        take(&self.signin_by_email, email.trim().to_lowercase())
    }

    /// The OpenID Connect providers to offer on the sign-in page: (name,
    /// label).
    pub fn oidc_providers(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// With the agent that starts and stops servers.
    pub fn with_agent(mut self, agent: Arc<dyn Agent>) -> AppState {
        self.agent = Some(agent);
        self
    }

    /// The state over `db`.
    pub fn new(db: Database) -> AppState {
        AppState {
            users: Users::new(db.clone()),
            sessions: Sessions::new(db.clone()),
            keys: ApiKeys::new(db.clone()),
            ledger: Ledger::new(db.clone()),
            servers: Servers::new(db.clone()),
            biller: Biller::new(Servers::new(db.clone()), Ledger::new(db)),
            agent: None,
            webhook_secret: None,
            secure_cookies: false,
            shutdown: CancellationToken::new(),
            signin_by_address: Arc::new(Mutex::new(RateLimiter::new(
                SIGNIN_BURST_PER_ADDRESS,
                SIGNIN_PER_MINUTE / 60.0,
                100_000,
            ))),
            signin_by_email: Arc::new(Mutex::new(RateLimiter::new(
                SIGNIN_BURST_PER_EMAIL,
                SIGNIN_PER_MINUTE / 60.0,
                100_000,
            ))),
            limiter: Arc::new(Mutex::new(RateLimiter::new(
                API_BURST,
                API_PER_SECOND,
                100_000,
            ))),
        }
    }
}

/// The routes of the API (and `/health`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .route("/api/me", get(me))
        .route("/api/keys", get(keys::list).post(keys::create))
        .route("/api/keys/{id}", delete(keys::revoke))
        .route("/api/billing", get(billing::billing))
        .route("/api/templates", get(servers::templates))
        .route("/api/admin/templates", post(servers::create_template))
        .route("/api/servers", get(servers::list).post(servers::create))
        .route(
            "/api/servers/{id}",
            get(servers::get).delete(servers::delete),
        )
        .route("/api/servers/{id}/wake", post(servers::wake))
        .route("/api/servers/{id}/hibernate", post(servers::hibernate))
        .route("/api/servers/{id}/logs", get(servers::logs))
        .route("/api/servers/{id}/stats", get(servers::stats))
        .route("/api/admin/credits", post(billing::grant))
        .route("/api/webhooks/payments", post(billing::payment_webhook))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The user.
    pub user_id: i64,
    /// Their role.
    pub role: Role,
}

impl Caller {
    /// `Forbidden` unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden("admins only".into()))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header_text = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let caller = if let Some(auth) = header_text(header::AUTHORIZATION.as_str()) {
            let key = auth.strip_prefix("Bearer ").ok_or_else(|| {
                ApiError::Unauthorized("use Authorization: Bearer <API key>".into())
            })?;
            let who = state
                .keys
                .authenticate(key.trim())
                .await?
                .ok_or_else(|| ApiError::Unauthorized("unknown or revoked API key".into()))?;
            Caller {
                user_id: who.user_id,
                role: who.role,
            }
        } else if let Some(token) =
            header_text(header::COOKIE.as_str()).and_then(cookie::token_from_header)
        {
            let session = state
                .sessions
                .get(token)
                .await?
                .filter(|s| s.complete)
                .ok_or_else(|| ApiError::Unauthorized("sign in first".into()))?;
            // Cookies ride along on cross-site requests; changes need the
            // session's CSRF token too.
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !safe && !header_text("x-csrf-token").is_some_and(|t| session.csrf_ok(t)) {
                return Err(ApiError::Forbidden("missing or wrong CSRF token".into()));
            }
            Caller {
                user_id: session.user_id,
                role: session.role,
            }
        } else {
            return Err(ApiError::Unauthorized(
                "use Authorization: Bearer <API key>, or sign in".into(),
            ));
        };
        let limited = state
            .limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .check(&format!("user:{}", caller.user_id), Instant::now());
        if let Err(wait) = limited {
            return Err(ApiError::TooManyRequests(wait));
        }
        Ok(caller)
    }
}

/// The caller, as `GET /api/me` answers.
#[derive(Debug, Serialize)]
struct Me {
    id: i64,
    email: String,
    role: &'static str,
    totp_enabled: bool,
}

async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let user = state
        .users
        .get(caller.user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
    Ok(Json(Me {
        id: user.id,
        email: user.email,
        role: user.role.as_str(),
        totp_enabled: user.totp_enabled,
    }))
}
