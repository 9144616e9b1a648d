//! `/api/billing` (a caller's balance and history), `/api/admin/credits`
//! (grants) and `/api/webhooks/payments` (deposits from the payment
//! provider).

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, Caller};
use crate::ledger::{Account, LedgerError, Millis, Posted};
use crate::payments;

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
#[derive(Debug, Deserialize)]
pub(super) struct Whose {
    user: Option<i64>,
}

/// One ledger entry of the caller's wallet.
#[derive(Debug, Serialize)]
pub(super) struct EntryView {
    key: String,
    kind: &'static str,
    who: String,
    memo: String,
    amount_millis: i64,
    balance_after_millis: i64,
    created_ms: i64,
}

/// `GET /api/billing`.
#[derive(Debug, Serialize)]
pub(super) struct Billing {
    user_id: i64,
    balance_millis: i64,
    balance: String,
    transactions: Vec<EntryView>,
}

pub(super) async fn billing(
    State(state): State<AppState>,
    caller: Caller,
    Query(whose): Query<Whose>,
) -> Result<Json<Billing>, ApiError> {
    let user_id = match whose.user {
        Some(u) if u != caller.user_id => {
            caller.require_admin()?;
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
#[derive(Debug, Deserialize)]
pub(super) struct Grant {
    user_id: i64,
    amount_millis: i64,
    /// The admin's id for this request: sending it again grants once.
    request_id: String,
    #[serde(default)]
    memo: String,
}

/// What a posting did.
#[derive(Debug, Serialize)]
pub(super) struct PostedView {
    key: String,
    duplicate: bool,
    balance_millis: i64,
}

pub(super) async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<Grant>, JsonRejection>,
) -> Result<(StatusCode, Json<PostedView>), ApiError> {
    caller.require_admin()?;
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

/// `POST /api/webhooks/payments`: no caller, a signature instead.
pub(super) async fn payment_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
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
            Json(serde_json::json!({ "received": true })),
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
        Json(serde_json::json!({ "received": true, "duplicate": !posted.is_new() })),
    ))
}
