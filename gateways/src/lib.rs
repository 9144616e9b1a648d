//! The front doors of a GSP world: telnet, QUIC and HTTP.
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

pub mod http;
pub mod quic;
pub mod telnet;

pub use tokio_util::sync::CancellationToken;
