//! The platform's JSON API under `/api`.
//!
//! Every call names its caller with `Authorization: Bearer gsp_ak_…` (an
//! API key) or, from the dashboard, the session cookie (with the session's
//! CSRF token in `X-CSRF-Token` on anything that changes state). Errors
//! are JSON, `{"error": "..."}`, with the status code that fits. Calls are
//! rate limited per caller.
//!
//! The API describes itself: `GET /openapi.json` (no caller needed) serves
//! its OpenAPI 3.1 document, also available in code as [`openapi`]. Each
//! handler carries its own `#[utoipa::path]` (method, path, parameters,
//! body, every status it answers, who may call it), and [`router`] is
//! built from those same annotated handlers by `utoipa-axum`, so a route
//! cannot be served without being described. The fixed parts (info, tags,
//! security schemes, the answers every authenticated call shares) live in
//! `doc.rs`; `tests/openapi.rs` checks the document against the router.

pub(crate) mod backups;
pub(crate) mod billing;
mod doc;
mod error;
mod keys;
pub(crate) mod servers;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::{Json, Router};
use gsp_store::Database;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gsp_control::auth::ratelimit::RateLimiter;
use gsp_control::auth::{cookie, ApiKeys, Sessions, Users};
use gsp_control::backup::BackupStore;
use gsp_control::fleet::{Fleet, FleetOrchestrator};
use gsp_control::hosting::Hosting;
use gsp_control::ledger::Ledger;
use gsp_control::servers::orchestrator::Orchestrator;
use gsp_control::servers::Servers;

pub use error::{ApiError, ErrorBody};

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
    /// Templates and servers, to read.
    pub servers: Servers,
    /// Every change of a server's state (with its charge and its node
    /// call), its logs, stats and backups. Without an orchestrator, the
    /// calls that need one answer 503; without a backup store, the backup
    /// calls do.
    pub hosting: Hosting,
    /// The payment webhook's signing secret; without one, the webhook
    /// answers 404.
    pub webhook_secret: Option<Arc<str>>,
    /// Whether the dashboard is served over HTTPS: cookies then get
    /// `Secure` and the `__Host-` name.
    pub secure_cookies: bool,
    /// Cancelled when the platform shuts down: long-lived responses (the
    /// dashboard's event streams) end with it.
    pub shutdown: CancellationToken,
    /// OpenID Connect sign-in, when providers are configured.
    pub oidc: Option<gsp_control::auth::oidc::Oidc>,
    /// The node registry, when servers run on node agents: the agents'
    /// routes authenticate and record nodes with it.
    pub fleet: Option<Fleet>,
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
        self.oidc.as_ref().map_or_else(Vec::new, |o| o.providers())
    }

    /// With OpenID Connect sign-in.
    pub fn with_oidc(mut self, oidc: gsp_control::auth::oidc::Oidc) -> AppState {
        self.oidc = Some(oidc);
        self
    }

    /// With the orchestrator that starts and stops servers.
    pub fn with_orchestrator(mut self, orchestrator: Arc<dyn Orchestrator>) -> AppState {
        self.hosting = self.hosting.with_orchestrator(orchestrator);
        self
    }

    /// With node agents: the agents' routes record `fleet`'s nodes, and
    /// servers are placed on them and driven through their agents
    /// ([`FleetOrchestrator`]).
    pub fn with_fleet(mut self, fleet: Fleet) -> AppState {
        let orchestrator = FleetOrchestrator::new(fleet.clone());
        self.hosting = self.hosting.with_orchestrator(Arc::new(orchestrator));
        self.fleet = Some(fleet);
        self
    }

    /// With a backup store for `POST /api/servers/{id}/backup`.
    pub fn with_backups(mut self, store: BackupStore) -> AppState {
        self.hosting = self.hosting.with_backups(store);
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
            hosting: Hosting::new(Servers::new(db.clone()), Ledger::new(db)),
            webhook_secret: None,
            secure_cookies: false,
            shutdown: CancellationToken::new(),
            oidc: None,
            fleet: None,
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

/// The routes of the API (with `/health` and `/openapi.json`), and a JSON
/// 404 for anything else.
pub fn router(state: AppState) -> Router {
    let (routes, _) = routes().split_for_parts();
    routes
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
}

/// The API's OpenAPI document, as `GET /openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// Every route with its description: the one list both [`router`] and
/// [`openapi`] come from. `routes!` takes handlers of one path only.
fn routes() -> OpenApiRouter<AppState> {
    let mut api = OpenApiRouter::with_openapi(doc::ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(doc::openapi_json))
        .routes(routes!(me))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::revoke))
        .routes(routes!(billing::billing))
        .routes(routes!(servers::templates))
        .routes(routes!(servers::create_template))
        .routes(routes!(servers::list, servers::create))
        .routes(routes!(servers::get, servers::delete))
        .routes(routes!(servers::wake))
        .routes(routes!(servers::hibernate))
        .routes(routes!(servers::logs))
        .routes(routes!(servers::console))
        .routes(routes!(servers::stats))
        .routes(routes!(backups::create))
        .routes(routes!(backups::list))
        .routes(routes!(backups::restore))
        .routes(routes!(billing::grant))
        .routes(routes!(billing::payment_webhook));
    doc::add_caller_responses(api.get_openapi_mut());
    api
}

/// Whether the platform is up.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "meta",
    responses((status = 200, description = "Up.", body = String, content_type = "text/plain",
        example = "ok\n")),
)]
async fn health() -> &'static str {
    "ok\n"
}

pub use gsp_control::auth::Caller;

/// `Forbidden` unless `caller` is an admin.
pub fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("admins only".into()))
    }
}

/// The authenticated caller of a request.
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
            .check(&caller.who(), Instant::now());
        if let Err(wait) = limited {
            return Err(ApiError::TooManyRequests(wait));
        }
        Ok(caller)
    }
}

/// The numeric `{id}` of a path. A bad one is a JSON 400 like every other
/// error, not axum's plain-text rejection.
#[derive(Debug, Clone, Copy)]
struct PathId(i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<i64>::from_request_parts(parts, state).await?;
        Ok(PathId(id))
    }
}

/// The caller, as `GET /api/me` answers.
#[derive(Debug, Serialize, ToSchema)]
struct Me {
    /// The user's id.
    id: i64,
    /// Their email address.
    email: String,
    /// `admin` or `customer`.
    #[schema(value_type = String, example = "customer")]
    role: &'static str,
    /// Whether they sign in with a TOTP code too.
    totp_enabled: bool,
}

/// The caller's own user.
#[utoipa::path(
    get,
    path = "/api/me",
    operation_id = "me",
    tag = "account",
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The caller.", body = Me),
        (status = 404, description = "The caller's user is gone.", body = ErrorBody),
    ),
)]
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
