//! The QUIC gateway: graphical players over quinn, TLS 1.3, ALPN `gsp/1`
//! (the protocol version itself is checked in the hello).
//!
//! [`cert`] finds or makes the server certificate; [`server`] accepts
//! connections, runs the handshake on the client's bidirectional stream and
//! then moves commands, events, inputs and state between the connection and
//! the world.

pub mod cert;
pub mod server;

pub use cert::{CertError, ServerIdentity};
pub use server::{endpoint, serve, QuicConfig};
