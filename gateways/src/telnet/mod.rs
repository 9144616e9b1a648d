//! The telnet gateway: text players in the same world as everyone else.
//!
//! [`protocol`] is the sans-I/O core (IAC parsing, RFC 1143 option
//! negotiation, line discipline); [`login`] is the login conversation as a
//! sans-I/O state machine (name, password with echo off, character
//! creation, Evennia's `connect`/`create` one-liners); [`render`] turns
//! world events into coloured text; [`server`] is the async shell that
//! accepts connections, runs the login, and then shuttles lines in and
//! events out.

pub mod login;
pub mod protocol;
pub mod render;
pub mod server;

pub use server::{serve, TelnetConfig};
