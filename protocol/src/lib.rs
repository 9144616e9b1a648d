//! The GSP wire protocol, with no I/O in it.
//!
//! No process runs this crate on its own: the world server (`gsp world`, its
//! QUIC gateway and replication) and every client (`gsp play`, `gsp bot`, the
//! client SDK) link it, so that both ends share one definition of the wire.
//! `protocol/PROTOCOL.md` documents it for clients written in other languages.
//!
//! A graphical client talks to a world over QUIC with the ALPN [`ALPN`]. The
//! connection carries two kinds of traffic, both described by the flatbuffers
//! schema in `protocol/schema/gsp.fbs` (Rust code generated into [`wire`] by
//! `scripts/gen-protocol`, and committed):
//!
//! * **One reliable stream**, opened by the client, carrying length-prefixed
//!   frames ([`framing`]). The client speaks first with a [`ClientMessage::Hello`]
//!   (a name, and a password or a resume token for an account; neither for a
//!   guest); the server answers [`ServerMessage::Welcome`] (with a fresh
//!   resume token after a password login) or [`ServerMessage::Refusal`].
//!   After that the client sends text commands (`say hi`, `go north`) and the
//!   server sends the map ([`ServerMessage::Map`], in chunks), then
//!   [`ServerMessage::Event`]s (the same things a telnet player reads) and
//!   [`ServerMessage::Entity`] (names and looks of entities as they come
//!   into view).
//! * **Unreliable datagrams**: the client sends [`ClientDatagram::Input`] every
//!   frame (its last few inputs, and which snapshots arrived); the server sends
//!   one [`ServerDatagram::Snapshot`] every tick: the entities near the player,
//!   delta-compressed against a snapshot the client acknowledged
//!   ([`snapshot`]). Pings and pongs measure the round trip.
//!
//! The types in [`messages`] are plain Rust values; `encode` builds the
//! flatbuffer and `decode` runs the flatbuffers verifier under tight
//! [`limits`] before it reads a single field, so a malformed or hostile buffer
//! is an error, never a panic.
//!
//! # Layout
//!
//! - [`messages`]: the plain Rust messages and their flatbuffers encoding.
//! - [`error`]: why a buffer is not a valid message.
//! - [`wire`]: the flatbuffers code generated from the schema (`generated/`).
//! - [`framing`]: length-prefixed frames on the reliable stream.
//! - [`map`]: the map and entity looks a client draws, chunked to fit frames.
//! - [`snapshot`]: quantization, the delta codec, and each end's half of replication.
//! - [`movement`]: the movement rule the world applies and clients predict.
//! - [`close`]: application close codes.
//! - [`secret`]: passwords and tokens that are never printed.
//! - [`limits`]: the limits every decoder enforces.
//!
//! ```
//! use gsp_protocol::{ClientMessage, PROTOCOL_VERSION};
//!
//! let hello = ClientMessage::Hello {
//!     protocol_version: PROTOCOL_VERSION,
//!     name: "ada".into(),
//!     password: Some("correct horse".into()),
//!     token: None,
//!     create: false,
//! };
//! let bytes = hello.encode();
//! assert_eq!(ClientMessage::decode(&bytes).unwrap(), hello);
//! assert!(ClientMessage::decode(&bytes[..bytes.len() / 2]).is_err());
//! ```

pub mod close;
pub mod error;
pub mod framing;
pub mod map;
pub mod messages;
pub mod movement;
pub mod secret;
pub mod snapshot;

#[allow(
    clippy::all,
    unsafe_op_in_unsafe_fn,
    mismatched_lifetime_syntaxes,
    missing_docs
)]
#[rustfmt::skip]
#[path = "generated/gsp_generated.rs"]
mod generated;

/// The flatbuffers types generated from `protocol/schema/gsp.fbs`.
pub use generated::gsp::wire;

pub use close::CloseCode;
pub use messages::{
    encode_snapshot, ClientDatagram, ClientMessage, DecodeError, EventKind, Moves, RefusalCode,
    ServerDatagram, ServerMessage, MAX_INPUTS_PER_DATAGRAM, SNAPSHOT_OVERHEAD_BYTES,
};
pub use secret::Secret;

/// The protocol version a client announces in its hello; the server refuses others.
pub const PROTOCOL_VERSION: u16 = 4;

/// The QUIC application protocol name (ALPN). It stays `gsp/1` across
/// protocol versions, so that a client of another version is told so in a
/// refusal instead of failing the TLS handshake.
pub const ALPN: &[u8] = b"gsp/1";

/// Limits every decoder enforces.
pub mod limits {
    /// Largest stream frame either side accepts, in bytes (length prefix excluded).
    pub const MAX_FRAME_BYTES: usize = 16 * 1024;
    /// Largest datagram either side accepts, in bytes.
    pub const MAX_DATAGRAM_BYTES: usize = 1400;
    /// Longest text command a client may send, in bytes.
    pub const MAX_COMMAND_BYTES: usize = 512;
    /// Longest password or token a hello may carry, in bytes.
    pub const MAX_SECRET_BYTES: usize = 1024;
    /// Nesting depth the flatbuffers verifier allows.
    pub const MAX_DEPTH: usize = 8;
    /// Tables the flatbuffers verifier allows in one buffer.
    pub const MAX_TABLES: usize = 128;
}
