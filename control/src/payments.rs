//! Payment webhooks in the shape of Stripe's: an event POSTed as JSON with
//! a `Stripe-Signature: t=<unix secs>,v1=<hex>` header, where `v1` is
//! HMAC-SHA256 of `"<t>.<body>"` under the endpoint's secret. A signature
//! that does not match, or a timestamp more than [`TOLERANCE_SECS`] away
//! (a replayed capture), is refused; the same event delivered twice
//! deposits once, because the deposit's idempotency key is the payment's id.
//!
//! A paid event is `payment_intent.succeeded` whose object carries `id`
//! (the payment), `amount_received` in the currency's minor unit (cents),
//! and `metadata.user_id`. One cent buys [`MILLIS_PER_MINOR_UNIT`]
//! milli-credits: one dollar is one credit. Other event types are
//! acknowledged and ignored, as Stripe expects.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Signatures this far from now (seconds) are refused.
pub const TOLERANCE_SECS: u64 = 300;
/// Milli-credits per minor currency unit.
pub const MILLIS_PER_MINOR_UNIT: i64 = 10;

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No usable signature header.
    #[error("missing or malformed signature header")]
    MalformedSignature,
    /// The signature does not match the body.
    #[error("the signature does not match")]
    BadSignature,
    /// The timestamp is too far from now.
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    /// The body is not an event we understand; the text says why.
    #[error("bad event: {0}")]
    BadEvent(String),
}

/// A payment to deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The event's id (for the log).
    pub event: String,
    /// The payment's id: the deposit's idempotency key.
    pub payment: String,
    /// The user to credit.
    pub user_id: i64,
    /// Milli-credits.
    pub millis: i64,
}

/// The `v1` signature of `body` at `timestamp` under `secret`, in hex.
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks the `Stripe-Signature` header of `body` at `now` (Unix seconds).
pub fn verify(secret: &str, header: &str, body: &[u8], now: u64) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::MalformedSignature)?;
    if signatures.is_empty() {
        return Err(WebhookError::MalformedSignature);
    }
    let expected = sign(secret, timestamp, body);
    let matches = signatures
        .iter()
        .any(|s| crate::auth::same_secret(s, &expected));
    if !matches {
        return Err(WebhookError::BadSignature);
    }
    if now.abs_diff(timestamp) > TOLERANCE_SECS {
        return Err(WebhookError::Stale);
    }
    Ok(())
}

/// The payment in a verified event body; `Ok(None)` for an event type that
/// deposits nothing.
pub fn payment(body: &[u8]) -> Result<Option<Payment>, WebhookError> {
    let bad = |why: &str| WebhookError::BadEvent(why.to_owned());
    let event: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::BadEvent(e.to_string()))?;
    let id = event["id"].as_str().ok_or_else(|| bad("no event id"))?;
    if event["type"] != "payment_intent.succeeded" {
        return Ok(None);
    }
    let object = &event["data"]["object"];
    let payment = object["id"].as_str().ok_or_else(|| bad("no payment id"))?;
    let minor = object["amount_received"]
        .as_i64()
        .filter(|a| *a > 0)
        .ok_or_else(|| bad("amount_received is not a positive integer"))?;
    let user_id = object["metadata"]["user_id"]
        .as_str()
        .and_then(|u| u.parse::<i64>().ok())
        .ok_or_else(|| bad("metadata.user_id is not a user id"))?;
    let millis = minor
        .checked_mul(MILLIS_PER_MINOR_UNIT)
        .ok_or_else(|| bad("amount too large"))?;
    Ok(Some(Payment {
        event: id.to_owned(),
        payment: payment.to_owned(),
        user_id,
        millis,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_9","amount_received":2500,"metadata":{"user_id":"7"}}}}"#;

    #[test]
    fn signatures_match_only_their_body_secret_and_time() {
        let now = 1_800_000_000;
        let header = format!("t={now},v1={}", sign("whsec_a", now, BODY));
        assert_eq!(verify("whsec_a", &header, BODY, now + 10), Ok(()));
        assert_eq!(
            verify("whsec_b", &header, BODY, now),
            Err(WebhookError::BadSignature)
        );
        let mut tampered = BODY.to_vec();
        tampered[60] ^= 1;
        assert_eq!(
            verify("whsec_a", &header, &tampered, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify("whsec_a", &header, BODY, now + 301),
            Err(WebhookError::Stale)
        );
        // Several v1 signatures (secret rotation): any may match.
        let rotated = format!("t={now},v1=00,v1={}", sign("whsec_a", now, BODY));
        assert_eq!(verify("whsec_a", &rotated, BODY, now), Ok(()));
        for broken in ["", "t=1", "v1=ab", "t=x,v1=ab"] {
            assert_eq!(
                verify("whsec_a", broken, BODY, now),
                Err(WebhookError::MalformedSignature),
                "{broken}"
            );
        }
    }

    #[test]
    fn payments_are_read_and_other_events_ignored() {
        assert_eq!(
            payment(BODY).unwrap(),
            Some(Payment {
                event: "evt_1".into(),
                payment: "pi_9".into(),
                user_id: 7,
                millis: 25_000,
            })
        );
        assert_eq!(
            payment(br#"{"id":"evt_2","type":"customer.created","data":{}}"#).unwrap(),
            None
        );
        for bad in [
            &b"not json"[..],
            br#"{"type":"payment_intent.succeeded"}"#,
            br#"{"id":"e","type":"payment_intent.succeeded","data":{"object":{"id":"p","amount_received":-5,"metadata":{"user_id":"1"}}}}"#,
            br#"{"id":"e","type":"payment_intent.succeeded","data":{"object":{"id":"p","amount_received":5,"metadata":{}}}}"#,
        ] {
            assert!(payment(bad).is_err());
        }
    }
}
