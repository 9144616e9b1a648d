//! The telnet gateway: text players in the same world as everyone else.
//!
//! [`protocol`] is the sans-I/O core (IAC parsing, RFC 1143 option
//! negotiation, line discipline); [`session`] sits above it, also sans-I/O,
//! and speaks the MUD options (TTYPE/MTTS, NAWS, GMCP, MSSP, MCCP2,
//! EOR/GA, CHARSET) through the small modules named after them; [`login`]
//! is the login conversation as a sans-I/O state machine (name, password
//! with echo off, character creation, Evennia's `connect`/`create`
//! one-liners); [`render`] turns world events into coloured text;
//! [`server`] is the async shell that accepts connections, runs the login,
//! and then shuttles lines in and events out.
//!
//! # Layout
//!
//! - [`protocol`]: the telnet codec (IAC, RFC 1143 Q method, lines).
//! - [`session`]: one connection's options, capabilities and output pipeline.
//! - [`ttype`]: TTYPE and the MTTS cycle (colour depth, UTF-8, screen reader).
//! - [`naws`]: window sizes and wrapping text to the width.
//! - [`gmcp`]: GMCP messages, `Core.Supports`, and the packages the world sends.
//! - [`mssp`]: the MSSP table for MUD crawlers.
//! - [`mccp`]: MCCP2 compression (zlib).
//! - [`prompt`]: the in-game prompt and its EOR/GA marker.
//! - [`charset`]: CHARSET (UTF-8) and the ASCII fallback.
//! - [`login`]: the login conversation.
//! - [`render`]: world events as text, in a colour depth's palette.
//! - [`server`]: the async shell.

pub mod charset;
pub mod gmcp;
pub mod login;
pub mod mccp;
pub mod mssp;
pub mod naws;
pub mod prompt;
pub mod protocol;
pub mod render;
pub mod server;
pub mod session;
pub mod ttype;

pub use server::{serve, serve_tls, tls_acceptor, TelnetConfig};
