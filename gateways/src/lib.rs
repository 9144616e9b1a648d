//! The front doors of a GSP world: telnet, QUIC and HTTP.
//!
//! They run in the world server process (`gsp world`, and the default world
//! of `gsp up`), on its tokio runtime, beside the world's own tick thread.
//!
//! Each gateway is a thin async shell around a sans-I/O core and the engine's
//! [`WorldHandle`](gsp_engine::WorldHandle):
//!
//! * [`telnet`] serves text players (Mudlet, TinTin++, plain `telnet`): the
//!   option negotiation and line discipline live in [`telnet::protocol`],
//!   which never touches a socket.
//! * [`quic`] serves graphical players over quinn: a handshake on one
//!   bidirectional stream, text commands and events on that stream, inputs
//!   and state as datagrams, every buffer verified by
//!   [`gsp_protocol`] before use.
//! * [`http`] answers `/health`, `/status` and `/metrics`.
//!
//! Players are guests who only choose a name, unless the telnet and QUIC
//! configs are given an [`AccountService`](gsp_engine::AccountService):
//! then telnet runs a login conversation ([`telnet::login`]) and QUIC reads
//! a password or a resume token from the hello; both can still admit
//! guests when `allow_guests` says so.
//!
//! Whatever a client sends, the worst it can do is close its own connection:
//! malformed or oversized input ends that connection with an error code, and
//! a client that reads too slowly is dropped by the world rather than
//! slowing the tick.
//!
//! Listeners are bound by the caller (so that port 0 works and the caller can
//! print the bound address); the `serve` functions run until the
//! [`CancellationToken`] they are given
//! is cancelled.
//!
//! # Layout
//!
//! - [`telnet::protocol`]: the sans-I/O telnet core (IAC, RFC 1143 options, lines).
//! - [`telnet::login`]: the login conversation as a sans-I/O state machine.
//! - [`telnet::render`]: world events as coloured text.
//! - [`telnet::server`]: the async shell: accept, log in, shuttle lines and events.
//! - [`quic::cert`]: the server certificate, given or self-signed and kept.
//! - [`quic::server`]: the QUIC shell: handshake, commands, events, inputs, snapshots.
//! - [`http`]: `/health`, `/status` and `/metrics`.
//! - [`web`]: the browser client: its page and the mudstandards.org WebSocket.
//! - [`web::bridge`]: the sans-I/O bridge between WebSocket frames and a telnet session.

pub mod http;
pub mod quic;
pub mod telnet;
pub mod web;

pub use tokio_util::sync::CancellationToken;
