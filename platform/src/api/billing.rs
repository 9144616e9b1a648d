//! `/api/billing` (a caller's balance and history), `/api/admin/credits`
//! (grants) and `/api/webhooks/payments` (deposits from the payment
//! provider).

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::doc::{ADMINS_ONLY, INTERNAL, WRONG_SHAPE};
use super::{ApiError, AppState, Caller, ErrorBody};
use gsp_control::ledger::{Account, LedgerError, Millis, Posted};
use gsp_control::payments;

pub(crate) fn wallet(user_id: i64) -> Result<Account, ApiError> {
    Account::wallet(&user_id.to_string()).map_err(|e| ApiError::Internal(e.to_string()))
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Rule(_) => ApiError::BadRequest(e.to_string()),
            LedgerError::InsufficientFunds { .. } => ApiError::Conflict(e.to_string()),
            LedgerError::UnknownTransaction(_) => ApiError::NotFound(e.to_string()),
            LedgerError::Store(_) | LedgerError::Corrupt(_) => ApiError::Internal(e.to_string()),
        }
    }
}

/// `?user=ID`: whose billing an admin looks at.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Whose {
    /// The user whose wallet to show (admins only, for anyone but
    /// themselves); the caller's own when left out.
    user: Option<i64>,
}

/// One ledger entry of a wallet.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EntryView {
    /// The transaction's idempotency key.
    #[schema(example = "grant:1:welcome")]
    key: String,
    /// What moved the credits: `charge`, `deposit`, `grant` or `reverse`.
    #[schema(value_type = String, example = "grant")]
    kind: &'static str,
    /// Who or what made it (`user:1`, `webhook:evt_…`, `billing`).
    who: String,
    /// What it was for.
    memo: String,
    /// The change to the wallet, milli-credits (negative for charges).
    amount_millis: i64,
    /// The wallet's balance after it, milli-credits.
    balance_after_millis: i64,
    /// When it was posted, ms since the epoch.
    created_ms: i64,
}

/// A wallet's balance and latest entries.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Billing {
    /// Whose wallet.
    user_id: i64,
    /// The balance, milli-credits.
    balance_millis: i64,
    /// The balance in credits, for people.
    #[schema(example = "12.500")]
    balance: String,
    /// The latest 100 entries, newest first.
    transactions: Vec<EntryView>,
}

/// A wallet's balance and history: the caller's, or (admins) anyone's.
#[utoipa::path(
    get,
    path = "/api/billing",
    operation_id = "get_billing",
    tag = "billing",
    security(("api_key" = []), ("session" = [])),
    params(Whose),
    responses(
        (status = 200, description = "The balance and the latest entries.", body = Billing),
        (status = 400, description = "`user` is not an integer.", body = ErrorBody),
        (status = 403, description = "Only admins may read another user's billing.",
            body = ErrorBody),
    ),
)]
pub(super) async fn billing(
    State(state): State<AppState>,
    caller: Caller,
    whose: Result<Query<Whose>, QueryRejection>,
) -> Result<Json<Billing>, ApiError> {
    let Query(whose) = whose?;
    let user_id = match whose.user {
        Some(u) if u != caller.user_id => {
            super::require_admin(&caller)?;
            u
        }
        _ => caller.user_id,
    };
    let account = wallet(user_id)?;
    let balance = state.ledger.balance(&account).await?;
    let entries = state.ledger.history(&account, 100).await?;
    Ok(Json(Billing {
        user_id,
        balance_millis: balance.0,
        balance: balance.to_string(),
        transactions: entries
            .into_iter()
            .map(|e| EntryView {
                key: e.key.to_string(),
                kind: e.kind.name(),
                who: e.who,
                memo: e.memo,
                amount_millis: e.amount.0,
                balance_after_millis: e.balance_after.0,
                created_ms: e.created_ms,
            })
            .collect(),
    }))
}

/// `POST /api/admin/credits` body.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct Grant {
    /// Who gets the credits.
    user_id: i64,
    /// How many, milli-credits.
    amount_millis: i64,
    /// The admin's id for this request: sending it again grants once.
    request_id: String,
    /// What it is for (`credit grant` if left out).
    #[serde(default)]
    memo: String,
}

/// What a posting did.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PostedView {
    /// The transaction's idempotency key.
    key: String,
    /// Whether the same request had already been posted (and nothing
    /// moved this time).
    duplicate: bool,
    /// The wallet's balance now, milli-credits.
    balance_millis: i64,
}

/// Grants credits to a user (admins only); idempotent by `request_id`.
#[utoipa::path(
    post,
    path = "/api/admin/credits",
    operation_id = "grant_credits",
    tag = "billing",
    security(("api_key" = []), ("session" = [], "csrf" = [])),
    request_body = Grant,
    responses(
        (status = 201, description = "Granted.", body = PostedView),
        (status = 200, description = "Already granted under this `request_id`; nothing moved.",
            body = PostedView),
        (status = 400, description = "The body is not JSON, there is no such user, or the \
            amount or ids break a ledger rule.", body = ErrorBody),
        (status = 403, description = ADMINS_ONLY, body = ErrorBody),
        (status = 422, description = WRONG_SHAPE, body = ErrorBody),
    ),
)]
pub(super) async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<Grant>, JsonRejection>,
) -> Result<(StatusCode, Json<PostedView>), ApiError> {
    super::require_admin(&caller)?;
    let Json(g) = body?;
    if state.users.get(g.user_id).await?.is_none() {
        return Err(ApiError::BadRequest(format!(
            "there is no user {}",
            g.user_id
        )));
    }
    let memo = if g.memo.trim().is_empty() {
        "credit grant".to_owned()
    } else {
        g.memo
    };
    let posted = state
        .ledger
        .grant(
            &caller.user_id.to_string(),
            &g.request_id,
            &g.user_id.to_string(),
            Millis(g.amount_millis),
            &memo,
        )
        .await?;
    let balance = state.ledger.balance(&wallet(g.user_id)?).await?;
    Ok(posted_reply(&posted, balance))
}

fn posted_reply(posted: &Posted, balance: Millis) -> (StatusCode, Json<PostedView>) {
    let status = if posted.is_new() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        status,
        Json(PostedView {
            key: posted.recorded().key.to_string(),
            duplicate: !posted.is_new(),
            balance_millis: balance.0,
        }),
    )
}

/// The webhook's answer.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Received {
    /// Always true: the event was accepted.
    received: bool,
    /// For payments: whether this payment had already been deposited
    /// (and nothing moved this time). Absent for events that are ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate: Option<bool>,
}

/// Deposits from the payment provider: Stripe-shaped events, signed.
///
/// No caller; the `Stripe-Signature` header (`t=<unix secs>,v1=<hex
/// HMAC-SHA256 of "<t>.<body>">`) under the webhook secret proves the
/// sender, and is refused more than five minutes from now. A
/// `payment_intent.succeeded` event deposits `amount_received` (cents;
/// one cent is 10 milli-credits) to `metadata.user_id`, once per payment
/// however often it is delivered; other events are acknowledged and
/// ignored.
#[utoipa::path(
    post,
    path = "/api/webhooks/payments",
    operation_id = "payment_webhook",
    tag = "billing",
    params(("Stripe-Signature" = String, Header,
        description = "`t=<unix secs>,v1=<hex signature>`.")),
    request_body(content = Object, content_type = "application/json",
        description = "A Stripe event.",
        example = json!({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object":
            {"id": "pi_9", "amount_received": 2500, "metadata": {"user_id": "7"}}}})),
    responses(
        (status = 200, description = "Accepted (deposited, or ignored).", body = Received),
        (status = 400, description = "A missing, wrong or stale signature, an event that \
            does not parse, or no such user.", body = ErrorBody),
        (status = 404, description = "Payments are not configured.", body = ErrorBody),
        (status = 500, description = INTERNAL, body = ErrorBody),
    ),
)]
pub(super) async fn payment_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Received>), ApiError> {
    let Some(secret) = state.webhook_secret.as_deref() else {
        return Err(ApiError::NotFound("payments are not configured".into()));
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    payments::verify(secret, signature, &body, now)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let Some(payment) =
        payments::payment(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?
    else {
        return Ok((
            StatusCode::OK,
            Json(Received {
                received: true,
                duplicate: None,
            }),
        ));
    };
    if state.users.get(payment.user_id).await?.is_none() {
        return Err(ApiError::BadRequest(format!(
            "there is no user {}",
            payment.user_id
        )));
    }
    let posted = state
        .ledger
        .deposit(
            &payment.payment,
            &payment.user_id.to_string(),
            Millis(payment.millis),
            &format!("webhook:{}", payment.event),
        )
        .await?;
    tracing::info!(payment = %payment.payment, user = payment.user_id, new = posted.is_new(), "payment received");
    Ok((
        StatusCode::OK,
        Json(Received {
            received: true,
            duplicate: Some(!posted.is_new()),
        }),
    ))
}
