//! The telnet gateway: text players in the same world as everyone else.
//!
//! [`protocol`] is the sans-I/O core (IAC parsing, RFC 1143 option
//! negotiation, line discipline); [`render`] turns world events into
//! coloured text; [`server`] is the async shell that accepts connections,
//! asks for a name, and then shuttles lines in and events out.

pub mod login;
pub mod protocol;
pub mod render;
pub mod server;

pub use server::{serve, TelnetConfig};
