//! The game protocols the proxy speaks for the servers it fronts, as
//! sans-I/O codecs (plain functions and types, tested without sockets):
//! what a sleeping server's proxy answers by itself, and what the agent
//! asks a running server to count its players.
//!
//! - [`slp`]: Minecraft Java Edition's handshake, Server List Ping and
//!   Login Start.
//! - [`a2s`]: Steam's A2S_INFO query (Valheim and other Source-style
//!   servers).
//! - [`satisfactory`]: Satisfactory's Lightweight Query API.

pub mod a2s;
pub mod satisfactory;
pub mod slp;
