//! Plain Rust messages and their flatbuffers encoding.
//!
//! Each direction and channel has one enum: [`ClientMessage`] and
//! [`ServerMessage`] travel in stream frames, [`ClientDatagram`] and
//! [`ServerDatagram`] as QUIC datagrams. `decode` verifies the buffer with the
//! flatbuffers verifier (bounded depth, table count and size) and then checks
//! what the schema cannot say: a union must be present, required strings must
//! be there, a command must fit [`limits::MAX_COMMAND_BYTES`](crate::limits).

use flatbuffers::{FlatBufferBuilder, InvalidFlatbuffer, VerifierOptions};
use thiserror::Error;

use crate::limits;
use crate::wire;

pub use crate::wire::{EventKind, RefusalCode};

/// Why a buffer is not a valid message.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DecodeError {
    /// The flatbuffers verifier rejected the buffer.
    #[error("invalid flatbuffer: {0}")]
    Invalid(#[from] InvalidFlatbuffer),
    /// The buffer is over the size limit for its channel.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The buffer's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message's union was empty or of a kind this version does not know.
    #[error("unknown or missing message type")]
    UnknownType,
    /// A field the protocol requires is missing.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field is present but its value is out of range.
    #[error("invalid field `{field}`: {why}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl DecodeError {
    /// Whether the error is about size rather than content.
    pub fn is_too_large(&self) -> bool {
        matches!(self, DecodeError::TooLarge { .. })
    }
}

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
    /// The first message of every connection.
    Hello {
        /// Must equal [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
        protocol_version: u16,
        /// The name the player wants.
        name: String,
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
            } => {
                let name = fbb.create_string(name);
                let hello = wire::ClientHello::create(
                    &mut fbb,
                    &wire::ClientHelloArgs {
                        protocol_version: *protocol_version,
                        name: Some(name),
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
            return Ok(ClientMessage::Hello {
                protocol_version: hello.protocol_version(),
                name: name.to_owned(),
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
            } => {
                let w = wire::Welcome::create(
                    &mut fbb,
                    &wire::WelcomeArgs {
                        session_id: *session_id,
                        entity_id: *entity_id,
                        tick_rate: *tick_rate,
                        protocol_version: *protocol_version,
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
            return Ok(ServerMessage::Welcome {
                session_id: w.session_id(),
                entity_id: w.entity_id(),
                tick_rate: w.tick_rate(),
                protocol_version: w.protocol_version(),
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
        Err(DecodeError::UnknownType)
    }
}

/// A datagram from client to server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientDatagram {
    /// Movement intent for the coming tick.
    Input {
        /// Increases by one per input; older ones are ignored.
        sequence: u32,
        /// East (+) / west (-), in -1..=1.
        move_x: f32,
        /// North (+) / south (-), in -1..=1.
        move_z: f32,
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
        let mut fbb = FlatBufferBuilder::with_capacity(64);
        let (kind, body) = match *self {
            ClientDatagram::Input {
                sequence,
                move_x,
                move_z,
            } => {
                let i = wire::Input::create(
                    &mut fbb,
                    &wire::InputArgs {
                        sequence,
                        move_x,
                        move_z,
                    },
                );
                (wire::ClientDatagramBody::Input, i.as_union_value())
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
            let (move_x, move_z) = (i.move_x(), i.move_z());
            if !move_x.is_finite() || !move_z.is_finite() {
                return Err(DecodeError::InvalidField {
                    field: "move",
                    why: "not a finite number",
                });
            }
            return Ok(ClientDatagram::Input {
                sequence: i.sequence(),
                move_x,
                move_z,
            });
        }
        if let Some(p) = d.body_as_ping() {
            return Ok(ClientDatagram::Ping { nonce: p.nonce() });
        }
        Err(DecodeError::UnknownType)
    }
}

/// One entity in a state datagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntityState {
    /// The entity's id (the player's own is in the welcome).
    pub id: u64,
    /// World position in metres.
    pub position: [f32; 3],
}

/// A datagram from server to client.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerDatagram {
    /// The world near the player after a tick.
    State {
        /// The tick this state is from.
        tick: u64,
        /// The newest input sequence applied.
        last_input: u32,
        /// Entities near the player, nearest first.
        entities: Vec<EntityState>,
    },
    /// Answer to a ping.
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
}

/// Bytes a state datagram spends on its header, before any entity.
pub const STATE_OVERHEAD_BYTES: usize = 64;
/// Bytes each entity adds to a state datagram.
pub const STATE_BYTES_PER_ENTITY: usize = 24;

impl ServerDatagram {
    /// How many entities fit in one state datagram of at most `max_bytes`.
    pub fn max_entities(max_bytes: usize) -> usize {
        max_bytes.saturating_sub(STATE_OVERHEAD_BYTES) / STATE_BYTES_PER_ENTITY
    }

    /// The datagram's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut fbb = FlatBufferBuilder::with_capacity(
            STATE_OVERHEAD_BYTES
                + match self {
                    ServerDatagram::State { entities, .. } => {
                        entities.len() * STATE_BYTES_PER_ENTITY
                    }
                    ServerDatagram::Pong { .. } => 0,
                },
        );
        let (kind, body) = match self {
            ServerDatagram::State {
                tick,
                last_input,
                entities,
            } => {
                let structs: Vec<wire::EntityState> = entities
                    .iter()
                    .map(|e| {
                        let [x, y, z] = e.position;
                        wire::EntityState::new(e.id, &wire::Vec3::new(x, y, z))
                    })
                    .collect();
                let entities = fbb.create_vector(&structs);
                let s = wire::State::create(
                    &mut fbb,
                    &wire::StateArgs {
                        tick: *tick,
                        last_input: *last_input,
                        entities: Some(entities),
                    },
                );
                (wire::ServerDatagramBody::State, s.as_union_value())
            }
            ServerDatagram::Pong { nonce } => {
                let p = wire::Pong::create(&mut fbb, &wire::PongArgs { nonce: *nonce });
                (wire::ServerDatagramBody::Pong, p.as_union_value())
            }
        };
        let d = wire::ServerDatagram::create(
            &mut fbb,
            &wire::ServerDatagramArgs {
                body_type: kind,
                body: Some(body),
            },
        );
        fbb.finish_minimal(d);
        fbb.finished_data().to_vec()
    }

    /// Verifies and reads a server datagram.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        check_len(buf, limits::MAX_DATAGRAM_BYTES)?;
        let d = flatbuffers::root_with_opts::<wire::ServerDatagram>(
            &verifier_options(limits::MAX_DATAGRAM_BYTES),
            buf,
        )?;
        if let Some(s) = d.body_as_state() {
            let entities = s
                .entities()
                .map(|v| {
                    v.iter()
                        .map(|e| {
                            let p = e.position();
                            EntityState {
                                id: e.id(),
                                position: [p.x(), p.y(), p.z()],
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Ok(ServerDatagram::State {
                tick: s.tick(),
                last_input: s.last_input(),
                entities,
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
            },
            ServerMessage::Refusal {
                code: RefusalCode::NameTaken,
                reason: "taken".into(),
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
                move_x: -1.0,
                move_z: 0.5,
            },
            ClientDatagram::Ping { nonce: u64::MAX },
        ];
        for d in dgrams {
            assert_eq!(ClientDatagram::decode(&d.encode()).unwrap(), d);
        }
        let state = ServerDatagram::State {
            tick: 42,
            last_input: 9,
            entities: vec![EntityState {
                id: 3,
                position: [1.0, 0.0, -2.5],
            }],
        };
        assert_eq!(ServerDatagram::decode(&state.encode()).unwrap(), state);
    }

    #[test]
    fn a_full_state_fits_its_budget() {
        let n = ServerDatagram::max_entities(limits::MAX_DATAGRAM_BYTES);
        let state = ServerDatagram::State {
            tick: u64::MAX,
            last_input: u32::MAX,
            entities: vec![
                EntityState {
                    id: u64::MAX,
                    position: [1.0; 3]
                };
                n
            ],
        };
        let len = state.encode().len();
        assert!(len <= limits::MAX_DATAGRAM_BYTES, "{len} bytes for {n}");
    }

    #[test]
    fn rejects_wrong_channel_and_garbage() {
        let hello = ClientMessage::Hello {
            protocol_version: 1,
            name: "x".into(),
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
        let d = ClientDatagram::Input {
            sequence: 1,
            move_x: f32::NAN,
            move_z: 0.0,
        }
        .encode();
        assert!(matches!(
            ClientDatagram::decode(&d),
            Err(DecodeError::InvalidField { .. })
        ));
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
            let mut bytes = ClientMessage::Hello { protocol_version: 1, name: "corrupt".into() }.encode();
            let i = idx % bytes.len();
            bytes[i] = val;
            let _ = ClientMessage::decode(&bytes);
            let mut d = ServerDatagram::State { tick: 1, last_input: 2, entities: vec![EntityState { id: 1, position: [0.0; 3] }; 2] }.encode();
            let j = idx % d.len();
            d[j] = val;
            let _ = ServerDatagram::decode(&d);
        }
    }
}
