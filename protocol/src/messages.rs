//! Plain Rust messages and their flatbuffers encoding.
//!
//! Each direction and channel has one enum: [`ClientMessage`] and
//! [`ServerMessage`] travel in stream frames, [`ClientDatagram`] and
//! [`ServerDatagram`] as QUIC datagrams. `decode` verifies the buffer with the
//! flatbuffers verifier (bounded depth, table count and size) and then checks
//! what the schema cannot say: a union must be present, required strings must
//! be there, a command must fit [`limits::MAX_COMMAND_BYTES`](crate::limits).

use flatbuffers::{FlatBufferBuilder, VerifierOptions};

pub use crate::error::DecodeError;

use crate::limits;
use crate::map::{decode_chunk, decode_info, encode_chunk, encode_info, EntityInfo, MapChunk};
use crate::secret::Secret;
use crate::snapshot::{Quantization, SnapshotHeader};
use crate::wire;

pub use crate::wire::{EventKind, RefusalCode};

fn verifier_options(max_size: usize) -> VerifierOptions {
    VerifierOptions {
        max_depth: limits::MAX_DEPTH,
        max_tables: limits::MAX_TABLES,
        max_apparent_size: max_size * 4,
        ignore_missing_null_terminator: false,
    }
}

fn check_len(buf: &[u8], max: usize) -> Result<(), DecodeError> {
    if buf.len() > max {
        return Err(DecodeError::TooLarge {
            len: buf.len(),
            max,
        });
    }
    Ok(())
}

/// A message from client to server on the reliable stream.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// The first message of every connection. Which credentials it carries
    /// says how the player logs in: a `token` resumes an account (and
    /// `name` is ignored), a `password` logs in to the account `name` (or
    /// creates it when `create`), neither asks to play as the guest `name`.
    Hello {
        /// Must equal [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
        protocol_version: u16,
        /// The name the player wants.
        name: String,
        /// The account's password, at most [`limits::MAX_SECRET_BYTES`].
        password: Option<Secret>,
        /// A resume token from an earlier [`ServerMessage::Welcome`], at
        /// most [`limits::MAX_SECRET_BYTES`].
        token: Option<Secret>,
        /// Create the account `name` with `password` instead of logging in.
        create: bool,
    },
    /// A line of text as a telnet player would type it.
    Command {
        /// The command line.
        text: String,
    },
}

impl ClientMessage {
    /// The message as a flatbuffer (without the frame prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::with_capacity(64);
        let (kind, body) = match self {
            ClientMessage::Hello {
                protocol_version,
                name,
                password,
                token,
                create,
            } => {
                let name = fbb.create_string(name);
                let password = password.as_ref().map(|p| fbb.create_string(p.expose()));
                let token = token.as_ref().map(|t| fbb.create_string(t.expose()));
                let hello = wire::ClientHello::create(
                    &mut fbb,
                    &wire::ClientHelloArgs {
                        protocol_version: *protocol_version,
                        name: Some(name),
                        password,
                        token,
                        create_account: *create,
                    },
                );
                (wire::ClientMessage::ClientHello, hello.as_union_value())
            }
            ClientMessage::Command { text } => {
                let text = fbb.create_string(text);
                let cmd = wire::Command::create(&mut fbb, &wire::CommandArgs { text: Some(text) });
                (wire::ClientMessage::Command, cmd.as_union_value())
            }
        };
        let frame = wire::ClientFrame::create(
            &mut fbb,
            &wire::ClientFrameArgs {
                message_type: kind,
                message: Some(body),
            },
        );
        fbb.finish_minimal(frame);
        fbb.finished_data().to_vec()
    }

    /// Verifies and reads a client frame's payload.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        check_len(buf, limits::MAX_FRAME_BYTES)?;
        let frame = flatbuffers::root_with_opts::<wire::ClientFrame>(
            &verifier_options(limits::MAX_FRAME_BYTES),
            buf,
        )?;
        if let Some(hello) = frame.message_as_client_hello() {
            let name = hello.name().ok_or(DecodeError::MissingField("name"))?;
            let secret = |value: Option<&str>, field: &'static str| match value {
                Some(v) if v.len() > limits::MAX_SECRET_BYTES => Err(DecodeError::InvalidField {
                    field,
                    why: "longer than 1024 bytes",
                }),
                v => Ok(v.map(Secret::from)),
            };
            return Ok(ClientMessage::Hello {
                protocol_version: hello.protocol_version(),
                name: name.to_owned(),
                password: secret(hello.password(), "password")?,
                token: secret(hello.token(), "token")?,
                create: hello.create_account(),
            });
        }
        if let Some(cmd) = frame.message_as_command() {
            let text = cmd.text().ok_or(DecodeError::MissingField("text"))?;
            if text.len() > limits::MAX_COMMAND_BYTES {
                return Err(DecodeError::InvalidField {
                    field: "text",
                    why: "command too long",
                });
            }
            return Ok(ClientMessage::Command {
                text: text.to_owned(),
            });
        }
        Err(DecodeError::UnknownType)
    }
}

/// A message from server to client on the reliable stream.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// The handshake succeeded.
    Welcome {
        /// The server's id for this session.
        session_id: u64,
        /// The player's own avatar in state datagrams.
        entity_id: u64,
        /// Ticks (and state datagrams) per second.
        tick_rate: u16,
        /// The server's protocol version.
        protocol_version: u16,
        /// How snapshots are quantized.
        quantization: Quantization,
        /// The avatar's walking speed, m/s, for client-side prediction.
        walk_speed: f32,
        /// After a password login or an account creation: a resume token
        /// to keep instead of the password.
        token: Option<Secret>,
    },
    /// The handshake failed; the connection closes after this.
    Refusal {
        /// Why, for programs.
        code: RefusalCode,
        /// Why, for people.
        reason: String,
    },
    /// Something for the player to read.
    Event {
        /// What kind of thing happened.
        kind: EventKind,
        /// Plain text, lines separated by `\n`.
        text: String,
        /// Who caused it, if anyone.
        actor: Option<String>,
        /// The room it happened in, if any.
        room: Option<String>,
    },
    /// One piece of the map, sent after the welcome ([`crate::map`]).
    Map(MapChunk),
    /// How to draw one entity ([`crate::map`]).
    Entity(EntityInfo),
}

impl ServerMessage {
    /// The message as a flatbuffer (without the frame prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::with_capacity(128);
        let (kind, body) = match self {
            ServerMessage::Welcome {
                session_id,
                entity_id,
                tick_rate,
                protocol_version,
                quantization,
                walk_speed,
                token,
            } => {
                let [x, y, z] = quantization.min;
                let min = wire::Vec3::new(x, y, z);
                let [x, y, z] = quantization.max;
                let max = wire::Vec3::new(x, y, z);
                let q = wire::Quantization::create(
                    &mut fbb,
                    &wire::QuantizationArgs {
                        min: Some(&min),
                        max: Some(&max),
                        position_resolution: quantization.position_resolution,
                        rotation_bits: quantization.rotation_bits,
                        velocity_resolution: quantization.velocity_resolution,
                        max_speed: quantization.max_speed,
                    },
                );
                let token = token.as_ref().map(|t| fbb.create_string(t.expose()));
                let w = wire::Welcome::create(
                    &mut fbb,
                    &wire::WelcomeArgs {
                        session_id: *session_id,
                        entity_id: *entity_id,
                        tick_rate: *tick_rate,
                        protocol_version: *protocol_version,
                        quantization: Some(q),
                        walk_speed: *walk_speed,
                        token,
                    },
                );
                (wire::ServerMessage::Welcome, w.as_union_value())
            }
            ServerMessage::Refusal { code, reason } => {
                let reason = fbb.create_string(reason);
                let r = wire::Refusal::create(
                    &mut fbb,
                    &wire::RefusalArgs {
                        code: *code,
                        reason: Some(reason),
                    },
                );
                (wire::ServerMessage::Refusal, r.as_union_value())
            }
            ServerMessage::Event {
                kind,
                text,
                actor,
                room,
            } => {
                let text = fbb.create_string(text);
                let actor = actor.as_deref().map(|a| fbb.create_string(a));
                let room = room.as_deref().map(|r| fbb.create_string(r));
                let e = wire::Event::create(
                    &mut fbb,
                    &wire::EventArgs {
                        kind: *kind,
                        text: Some(text),
                        actor,
                        room,
                    },
                );
                (wire::ServerMessage::Event, e.as_union_value())
            }
            ServerMessage::Map(chunk) => {
                let c = encode_chunk(&mut fbb, chunk);
                (wire::ServerMessage::MapChunk, c.as_union_value())
            }
            ServerMessage::Entity(info) => {
                let e = encode_info(&mut fbb, info);
                (wire::ServerMessage::EntityInfo, e.as_union_value())
            }
        };
        let frame = wire::ServerFrame::create(
            &mut fbb,
            &wire::ServerFrameArgs {
                message_type: kind,
                message: Some(body),
            },
        );
        fbb.finish_minimal(frame);
        fbb.finished_data().to_vec()
    }

    /// Verifies and reads a server frame's payload.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        check_len(buf, limits::MAX_FRAME_BYTES)?;
        let frame = flatbuffers::root_with_opts::<wire::ServerFrame>(
            &verifier_options(limits::MAX_FRAME_BYTES),
            buf,
        )?;
        if let Some(w) = frame.message_as_welcome() {
            let q = w
                .quantization()
                .ok_or(DecodeError::MissingField("quantization"))?;
            let (min, max) = match (q.min(), q.max()) {
                (Some(a), Some(b)) => ([a.x(), a.y(), a.z()], [b.x(), b.y(), b.z()]),
                _ => return Err(DecodeError::MissingField("quantization bounds")),
            };
            return Ok(ServerMessage::Welcome {
                session_id: w.session_id(),
                entity_id: w.entity_id(),
                tick_rate: w.tick_rate(),
                protocol_version: w.protocol_version(),
                quantization: Quantization {
                    min,
                    max,
                    position_resolution: q.position_resolution(),
                    rotation_bits: q.rotation_bits(),
                    velocity_resolution: q.velocity_resolution(),
                    max_speed: q.max_speed(),
                },
                walk_speed: w.walk_speed(),
                token: w.token().map(Secret::from),
            });
        }
        if let Some(r) = frame.message_as_refusal() {
            return Ok(ServerMessage::Refusal {
                code: r.code(),
                reason: r.reason().unwrap_or_default().to_owned(),
            });
        }
        if let Some(e) = frame.message_as_event() {
            return Ok(ServerMessage::Event {
                kind: e.kind(),
                text: e
                    .text()
                    .ok_or(DecodeError::MissingField("text"))?
                    .to_owned(),
                actor: e.actor().map(str::to_owned),
                room: e.room().map(str::to_owned),
            });
        }
        if let Some(m) = frame.message_as_map_chunk() {
            return decode_chunk(m).map(ServerMessage::Map);
        }
        if let Some(e) = frame.message_as_entity_info() {
            return decode_info(e).map(ServerMessage::Entity);
        }
        Err(DecodeError::UnknownType)
    }
}

/// The most inputs one input datagram carries (the newest and its predecessors).
pub const MAX_INPUTS_PER_DATAGRAM: usize = 8;

/// The movement inputs of one datagram, newest first: `moves()[0]` is input
/// `sequence`, `moves()[i]` is `sequence - i`. Each is `[x, z]`, east and
/// north, each in -1..=1.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moves {
    len: u8,
    items: [[f32; 2]; MAX_INPUTS_PER_DATAGRAM],
}

impl Moves {
    /// The first [`MAX_INPUTS_PER_DATAGRAM`] of `moves`, newest first.
    pub fn new(moves: &[[f32; 2]]) -> Self {
        let mut m = Moves::default();
        for &mv in moves.iter().take(MAX_INPUTS_PER_DATAGRAM) {
            m.items[usize::from(m.len)] = mv;
            m.len += 1;
        }
        m
    }

    /// The moves, newest first.
    pub fn as_slice(&self) -> &[[f32; 2]] {
        &self.items[..usize::from(self.len)]
    }
}

/// A datagram from client to server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientDatagram {
    /// Movement inputs, with snapshot acknowledgements.
    Input {
        /// The sequence number of `moves[0]`; increases by one per input.
        sequence: u32,
        /// The newest inputs, newest first (at least one).
        moves: Moves,
        /// The newest snapshot sequence received.
        ack: u32,
        /// Bit `i` set: snapshot `ack - 1 - i` was received too.
        ack_bits: u64,
    },
    /// Acknowledgements alone.
    Ack {
        /// The newest snapshot sequence received.
        ack: u32,
        /// Bit `i` set: snapshot `ack - 1 - i` was received too.
        ack_bits: u64,
    },
    /// Asks for a [`ServerDatagram::Pong`] with the same nonce.
    Ping {
        /// Echoed back.
        nonce: u64,
    },
}

impl ClientDatagram {
    /// The datagram's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::with_capacity(128);
        let (kind, body) = match *self {
            ClientDatagram::Input {
                sequence,
                moves,
                ack,
                ack_bits,
            } => {
                let items: Vec<wire::Move> = moves
                    .as_slice()
                    .iter()
                    .map(|&[x, z]| wire::Move::new(x, z))
                    .collect();
                let moves = fbb.create_vector(&items);
                let i = wire::Input::create(
                    &mut fbb,
                    &wire::InputArgs {
                        sequence,
                        moves: Some(moves),
                        ack,
                        ack_bits,
                    },
                );
                (wire::ClientDatagramBody::Input, i.as_union_value())
            }
            ClientDatagram::Ack { ack, ack_bits } => {
                let a = wire::Ack::create(&mut fbb, &wire::AckArgs { ack, ack_bits });
                (wire::ClientDatagramBody::Ack, a.as_union_value())
            }
            ClientDatagram::Ping { nonce } => {
                let p = wire::Ping::create(&mut fbb, &wire::PingArgs { nonce });
                (wire::ClientDatagramBody::Ping, p.as_union_value())
            }
        };
        let d = wire::ClientDatagram::create(
            &mut fbb,
            &wire::ClientDatagramArgs {
                body_type: kind,
                body: Some(body),
            },
        );
        fbb.finish_minimal(d);
        fbb.finished_data().to_vec()
    }

    /// Verifies and reads a client datagram.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        check_len(buf, limits::MAX_DATAGRAM_BYTES)?;
        let d = flatbuffers::root_with_opts::<wire::ClientDatagram>(
            &verifier_options(limits::MAX_DATAGRAM_BYTES),
            buf,
        )?;
        if let Some(i) = d.body_as_input() {
            let list = i.moves().ok_or(DecodeError::MissingField("moves"))?;
            if list.is_empty() || list.len() > MAX_INPUTS_PER_DATAGRAM {
                return Err(DecodeError::InvalidField {
                    field: "moves",
                    why: "must hold 1 to 8 inputs",
                });
            }
            let mut moves = Moves::default();
            for m in list.iter() {
                let (x, z) = (m.x(), m.z());
                if !x.is_finite() || !z.is_finite() {
                    return Err(DecodeError::InvalidField {
                        field: "moves",
                        why: "not a finite number",
                    });
                }
                moves.items[usize::from(moves.len)] = [x, z];
                moves.len += 1;
            }
            return Ok(ClientDatagram::Input {
                sequence: i.sequence(),
                moves,
                ack: i.ack(),
                ack_bits: i.ack_bits(),
            });
        }
        if let Some(a) = d.body_as_ack() {
            return Ok(ClientDatagram::Ack {
                ack: a.ack(),
                ack_bits: a.ack_bits(),
            });
        }
        if let Some(p) = d.body_as_ping() {
            return Ok(ClientDatagram::Ping { nonce: p.nonce() });
        }
        Err(DecodeError::UnknownType)
    }
}

/// A datagram from server to client.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerDatagram {
    /// The world near the player after a tick, as changes against a baseline.
    Snapshot {
        /// Sequence, baseline, tick and last applied input.
        header: SnapshotHeader,
        /// The bit-packed changes ([`crate::snapshot`]).
        payload: Vec<u8>,
    },
    /// Answer to a ping.
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
}

/// Bytes the envelope of a snapshot datagram takes around its payload, at most.
pub const SNAPSHOT_OVERHEAD_BYTES: usize = 72;

/// Builds a snapshot datagram in `fbb` (reset first, its buffer reused) and
/// returns its bytes: the server's allocation-free path.
pub fn encode_snapshot<'a>(
    fbb: &'a mut FlatBufferBuilder<'static>,
    header: &SnapshotHeader,
    payload: &[u8],
) -> &'a [u8] {
    fbb.reset();
    let payload = fbb.create_vector(payload);
    let s = wire::Snapshot::create(
        fbb,
        &wire::SnapshotArgs {
            sequence: header.sequence,
            baseline: header.baseline,
            tick: header.tick,
            last_input: header.last_input,
            payload: Some(payload),
        },
    );
    let d = wire::ServerDatagram::create(
        fbb,
        &wire::ServerDatagramArgs {
            body_type: wire::ServerDatagramBody::Snapshot,
            body: Some(s.as_union_value()),
        },
    );
    fbb.finish_minimal(d);
    fbb.finished_data()
}

impl ServerDatagram {
    /// The datagram's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::with_capacity(256);
        match self {
            ServerDatagram::Snapshot { header, payload } => {
                encode_snapshot(&mut fbb, header, payload).to_vec()
            }
            ServerDatagram::Pong { nonce } => {
                let p = wire::Pong::create(&mut fbb, &wire::PongArgs { nonce: *nonce });
                let d = wire::ServerDatagram::create(
                    &mut fbb,
                    &wire::ServerDatagramArgs {
                        body_type: wire::ServerDatagramBody::Pong,
                        body: Some(p.as_union_value()),
                    },
                );
                fbb.finish_minimal(d);
                fbb.finished_data().to_vec()
            }
        }
    }

    /// Verifies and reads a server datagram.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        check_len(buf, limits::MAX_DATAGRAM_BYTES)?;
        let d = flatbuffers::root_with_opts::<wire::ServerDatagram>(
            &verifier_options(limits::MAX_DATAGRAM_BYTES),
            buf,
        )?;
        if let Some(s) = d.body_as_snapshot() {
            if s.sequence() == 0 {
                return Err(DecodeError::InvalidField {
                    field: "sequence",
                    why: "snapshot sequences start at 1",
                });
            }
            return Ok(ServerDatagram::Snapshot {
                header: SnapshotHeader {
                    sequence: s.sequence(),
                    baseline: s.baseline(),
                    tick: s.tick(),
                    last_input: s.last_input(),
                },
                payload: s.payload().map(|p| p.bytes().to_vec()).unwrap_or_default(),
            });
        }
        if let Some(p) = d.body_as_pong() {
            return Ok(ServerDatagram::Pong { nonce: p.nonce() });
        }
        Err(DecodeError::UnknownType)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_message_round_trips() {
        let client = [
            ClientMessage::Hello {
                protocol_version: 1,
                name: "ada".into(),
                password: None,
                token: None,
                create: false,
            },
            ClientMessage::Hello {
                protocol_version: 3,
                name: "bob".into(),
                password: Some("correct horse".into()),
                token: None,
                create: true,
            },
            ClientMessage::Hello {
                protocol_version: 3,
                name: String::new(),
                password: None,
                token: Some("t0k3n".into()),
                create: false,
            },
            ClientMessage::Command {
                text: "say héllo ✓".into(),
            },
        ];
        for m in client {
            assert_eq!(ClientMessage::decode(&m.encode()).unwrap(), m);
        }
        let server = [
            ServerMessage::Welcome {
                session_id: 7,
                entity_id: 1 << 40,
                tick_rate: 30,
                protocol_version: 1,
                quantization: Quantization {
                    rotation_bits: 11,
                    ..Quantization::default()
                },
                walk_speed: 6.0,
                token: None,
            },
            ServerMessage::Welcome {
                session_id: 8,
                entity_id: 3,
                tick_rate: 20,
                protocol_version: 3,
                quantization: Quantization::default(),
                walk_speed: 5.0,
                token: Some("resume-me".into()),
            },
            ServerMessage::Refusal {
                code: RefusalCode::NameTaken,
                reason: "taken".into(),
            },
            ServerMessage::Refusal {
                code: RefusalCode::Throttled,
                reason: "try again in 30 s".into(),
            },
            ServerMessage::Event {
                kind: EventKind::Say,
                text: "ada says, \"hi\"".into(),
                actor: Some("ada".into()),
                room: None,
            },
        ];
        for m in server {
            assert_eq!(ServerMessage::decode(&m.encode()).unwrap(), m);
        }
        let dgrams = [
            ClientDatagram::Input {
                sequence: 9,
                moves: Moves::new(&[[-1.0, 0.5], [0.0, 1.0]]),
                ack: 77,
                ack_bits: 0b1011,
            },
            ClientDatagram::Ack {
                ack: 5,
                ack_bits: u64::MAX,
            },
            ClientDatagram::Ping { nonce: u64::MAX },
        ];
        for d in dgrams {
            assert_eq!(ClientDatagram::decode(&d.encode()).unwrap(), d);
        }
        let snapshot = ServerDatagram::Snapshot {
            header: SnapshotHeader {
                sequence: 42,
                baseline: 40,
                tick: 1000,
                last_input: 9,
            },
            payload: vec![1, 2, 3],
        };
        assert_eq!(
            ServerDatagram::decode(&snapshot.encode()).unwrap(),
            snapshot
        );
    }

    #[test]
    fn snapshot_envelope_overhead_is_bounded() {
        let header = SnapshotHeader {
            sequence: u32::MAX,
            baseline: u32::MAX,
            tick: u32::MAX,
            last_input: u32::MAX,
        };
        let mut fbb = FlatBufferBuilder::new();
        for n in [0usize, 1, 2, 3, 4, 1000] {
            let payload = vec![0xAB; n];
            let len = encode_snapshot(&mut fbb, &header, &payload).len();
            assert!(
                len <= n + SNAPSHOT_OVERHEAD_BYTES,
                "{len} bytes for a payload of {n}"
            );
        }
        // An empty payload is only the header: a few dozen bytes.
        assert!(encode_snapshot(&mut fbb, &header, &[]).len() >= 40);
    }

    #[test]
    fn rejects_wrong_channel_and_garbage() {
        let hello = ClientMessage::Hello {
            protocol_version: 1,
            name: "x".into(),
            password: None,
            token: None,
            create: false,
        }
        .encode();
        // A client frame is not a datagram of either kind.
        assert!(ClientDatagram::decode(&hello).is_err());
        assert!(ClientMessage::decode(&[]).is_err());
        assert!(ClientMessage::decode(&[0xff; 64]).is_err());
        let big = vec![0u8; limits::MAX_DATAGRAM_BYTES + 1];
        assert!(ClientDatagram::decode(&big).unwrap_err().is_too_large());
    }

    #[test]
    fn rejects_non_finite_input() {
        let input = |moves: &[[f32; 2]]| {
            ClientDatagram::Input {
                sequence: 1,
                moves: Moves::new(moves),
                ack: 0,
                ack_bits: 0,
            }
            .encode()
        };
        for bad in [
            input(&[[f32::NAN, 0.0]]),
            input(&[[0.0, 0.0], [0.0, f32::INFINITY]]),
            input(&[]),
        ] {
            assert!(matches!(
                ClientDatagram::decode(&bad),
                Err(DecodeError::InvalidField { .. })
            ));
        }
    }

    #[test]
    fn rejects_over_long_credentials() {
        let hello = |password: &str, token: &str| ClientMessage::Hello {
            protocol_version: 3,
            name: "ada".into(),
            password: Some(password.into()),
            token: Some(token.into()),
            create: false,
        };
        let max = "p".repeat(limits::MAX_SECRET_BYTES);
        let ok = hello(&max, &max);
        assert_eq!(ClientMessage::decode(&ok.encode()).unwrap(), ok);
        let long = "p".repeat(limits::MAX_SECRET_BYTES + 1);
        for (bad, field) in [
            (hello(&long, "t"), "password"),
            (hello("p", &long), "token"),
        ] {
            match ClientMessage::decode(&bad.encode()) {
                Err(DecodeError::InvalidField { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected {field} to be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn credentials_stay_out_of_debug_output() {
        let hello = ClientMessage::Hello {
            protocol_version: 3,
            name: "ada".into(),
            password: Some("hunter22".into()),
            token: Some("tok-123".into()),
            create: false,
        };
        let shown = format!("{hello:?}");
        assert!(shown.contains("ada"), "{shown}");
        assert!(
            !shown.contains("hunter22") && !shown.contains("tok-123"),
            "{shown}"
        );
    }

    #[test]
    fn rejects_over_long_command() {
        let m = ClientMessage::Command {
            text: "x".repeat(limits::MAX_COMMAND_BYTES + 1),
        }
        .encode();
        assert!(ClientMessage::decode(&m).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = ClientMessage::decode(&bytes);
            let _ = ServerMessage::decode(&bytes);
            let _ = ClientDatagram::decode(&bytes);
            let _ = ServerDatagram::decode(&bytes);
        }

        #[test]
        fn corrupted_valid_messages_never_panic(idx in 0usize..64, val in any::<u8>()) {
            let mut bytes = ClientMessage::Hello { protocol_version: 1, name: "corrupt".into(), password: Some("pw".into()), token: None, create: true }.encode();
            let i = idx % bytes.len();
            bytes[i] = val;
            let _ = ClientMessage::decode(&bytes);
            let mut d = ServerDatagram::Snapshot { header: SnapshotHeader { sequence: 3, baseline: 1, tick: 9, last_input: 2 }, payload: vec![7; 20] }.encode();
            let j = idx % d.len();
            d[j] = val;
            let _ = ServerDatagram::decode(&d);
        }
    }
}
