//! The wire format of the Redis bus, and the filter that drops our own echo.
//!
//! Every message a [`Bus`](super::Bus) publishes to Redis is one JSON object:
//!
//! ```json
//! {"v":1,"origin":"tavern#3f2a-9c41e07d5b2a11f0","msg":{"type":"chat","world":"tavern",...}}
//! ```
//!
//! `origin` names the bus instance that published it (the world name plus a
//! random part, so two processes serving a world of the same name still
//! differ). Redis sends a publisher its own messages back; since local
//! subscribers already got them at publish time, [`admit`] drops every
//! envelope whose origin is ours. Anything that is not our JSON (another
//! program on the channel, a newer format, a truncated payload) is refused
//! with an [`EnvelopeError`] and never delivered.

use gsp_engine::BusMessage;
use serde::{Deserialize, Serialize};

/// The envelope format version this code writes and reads.
pub const VERSION: u32 = 1;

/// Payloads longer than this are refused without parsing (a chat line is a
/// few hundred bytes; presence of a crowded world a few tens of KiB).
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// A message as it travels through Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The format version ([`VERSION`]).
    pub v: u32,
    /// The bus instance that published it.
    pub origin: String,
    /// The message itself.
    pub msg: BusMessage,
}

/// The borrowed twin of [`Envelope`], so that encoding does not clone.
#[derive(Serialize)]
struct EnvelopeRef<'a> {
    v: u32,
    origin: &'a str,
    msg: &'a BusMessage,
}

/// Why a payload from Redis was refused.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Longer than [`MAX_PAYLOAD`].
    #[error("payload of {len} bytes is over the {MAX_PAYLOAD}-byte limit")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// Not JSON, or not an envelope around a known message.
    #[error("not a bus envelope: {0}")]
    Json(#[from] serde_json::Error),
    /// An envelope of a format version this code does not know.
    #[error("envelope version {found} is not supported (this build reads {VERSION})")]
    Version {
        /// The version it claimed.
        found: u32,
    },
}

/// Encode `msg` as published by `origin`.
pub fn encode(origin: &str, msg: &BusMessage) -> Result<String, EnvelopeError> {
    Ok(serde_json::to_string(&EnvelopeRef {
        v: VERSION,
        origin,
        msg,
    })?)
}

/// Decode a payload from Redis (size, JSON and version checked).
pub fn decode(payload: &[u8]) -> Result<Envelope, EnvelopeError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(EnvelopeError::TooLarge { len: payload.len() });
    }
    let envelope: Envelope = serde_json::from_slice(payload)?;
    if envelope.v != VERSION {
        return Err(EnvelopeError::Version { found: envelope.v });
    }
    Ok(envelope)
}

/// What to do with a payload that arrived from Redis.
#[derive(Debug)]
pub enum Admit {
    /// Another bus instance sent it: deliver to local subscribers.
    Deliver(BusMessage),
    /// Our own message coming back: local subscribers already have it.
    Own,
    /// Not a message of ours: skip it (log at debug).
    Invalid(EnvelopeError),
}

/// Decode `payload` and apply the origin filter for the bus `own_origin`.
pub fn admit(payload: &[u8], own_origin: &str) -> Admit {
    match decode(payload) {
        Ok(envelope) if envelope.origin == own_origin => Admit::Own,
        Ok(envelope) => Admit::Deliver(envelope.msg),
        Err(err) => Admit::Invalid(err),
    }
}

/// A fresh origin id for a bus instance: `label#PID-RANDOM`.
///
/// The label (usually the world name) is for people reading logs; the
/// process id and 64 random bits make two instances differ even when they
/// share a label, in one process or across machines.
pub fn new_origin(label: &str) -> String {
    format!(
        "{label}#{:x}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(text: &str) -> BusMessage {
        BusMessage::Chat {
            world: "tavern".into(),
            channel: "public".into(),
            from: "ann".into(),
            text: text.into(),
        }
    }

    #[test]
    fn round_trip_keeps_origin_and_message() {
        let msgs = [
            chat("hello \"world\" ✓"),
            BusMessage::Presence {
                world: "tavern".into(),
                players: vec!["ann".into(), "bob".into()],
                sent_ms: 1_700_000_000_123,
            },
            BusMessage::Gone {
                world: "tavern".into(),
            },
        ];
        for msg in msgs {
            let text = encode("w#1-2", &msg).expect("encodes");
            let env = decode(text.as_bytes()).expect("decodes");
            assert_eq!(env.v, VERSION);
            assert_eq!(env.origin, "w#1-2");
            assert_eq!(env.msg, msg);
        }
    }

    #[test]
    fn wire_shape_is_the_documented_one() {
        let text = encode("o", &chat("hi")).expect("encodes");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["v"], 1);
        assert_eq!(value["origin"], "o");
        assert_eq!(value["msg"]["type"], "chat");
        assert_eq!(value["msg"]["text"], "hi");
    }

    #[test]
    fn own_messages_are_filtered_and_others_delivered() {
        let text = encode("me", &chat("x")).expect("encodes");
        assert!(matches!(admit(text.as_bytes(), "me"), Admit::Own));
        match admit(text.as_bytes(), "someone-else") {
            Admit::Deliver(msg) => assert_eq!(msg, chat("x")),
            other => panic!("expected delivery, got {other:?}"),
        }
        // Prefixes are not the same origin.
        assert!(matches!(admit(text.as_bytes(), "m"), Admit::Deliver(_)));
        assert!(matches!(admit(text.as_bytes(), "me2"), Admit::Deliver(_)));
    }

    #[test]
    fn foreign_payloads_are_refused_not_panicked_on() {
        let bad: &[&[u8]] = &[
            b"",
            b"hello",
            b"\xff\xfe\x00",
            b"{}",
            b"[1,2,3]",
            br#"{"v":1,"origin":"o"}"#,
            br#"{"v":1,"origin":"o","msg":{"type":"dance","world":"w"}}"#,
            br#"{"v":1,"origin":"o","msg":{"type":"chat","world":"w"}}"#,
            br#"{"v":"1","origin":"o","msg":{"type":"gone","world":"w"}}"#,
            br#"{"v":1,"origin":"o","msg":{"type":"gone","world":"w"}"#,
        ];
        for payload in bad {
            assert!(
                matches!(admit(payload, "me"), Admit::Invalid(EnvelopeError::Json(_))),
                "{:?} should be refused as JSON",
                String::from_utf8_lossy(payload)
            );
        }
    }

    #[test]
    fn other_versions_and_huge_payloads_are_refused() {
        let future = br#"{"v":2,"origin":"o","msg":{"type":"gone","world":"w"}}"#;
        assert!(matches!(
            admit(future, "me"),
            Admit::Invalid(EnvelopeError::Version { found: 2 })
        ));
        let huge = vec![b' '; MAX_PAYLOAD + 1];
        assert!(matches!(
            admit(&huge, "me"),
            Admit::Invalid(EnvelopeError::TooLarge { len }) if len == MAX_PAYLOAD + 1
        ));
    }

    #[test]
    fn unknown_envelope_fields_are_ignored() {
        let extra = br#"{"v":1,"origin":"o","trace":"abc","msg":{"type":"gone","world":"w"}}"#;
        match admit(extra, "me") {
            Admit::Deliver(BusMessage::Gone { world }) => assert_eq!(world, "w"),
            other => panic!("expected delivery, got {other:?}"),
        }
    }

    #[test]
    fn origins_differ_even_with_the_same_label() {
        let a = new_origin("tavern");
        let b = new_origin("tavern");
        assert_ne!(a, b);
        assert!(a.starts_with("tavern#"));
    }
}
