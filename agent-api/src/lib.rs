//! What the GSP platform and its node agents say to each other: the wire
//! types, the HTTP clients of both directions, and the checks both sides
//! share.
//!
//! No process runs this crate on its own. The control plane (`gsp
//! platform`) links it to drive node agents ([`AgentClient`]) and to read
//! what they send; the node agent (`gsp agent`, crate `gsp-agent`) and the
//! wake proxy (`gsp proxy`, crate `gsp-proxy`) link it to reach the
//! platform ([`PlatformClient`]). Because both sides compile against the
//! same types, the compiler holds the contract between them.
//!
//! ```text
//!  agent, proxy ──register, heartbeat, wake, exited (node token)──▶ platform
//!  platform ──start, stop, logs, stats, backup (callback token)──▶ agent
//! ```
//!
//! # Layout
//!
//! - [`wire`]: the JSON bodies ([`Registration`], [`Heartbeat`],
//!   [`StartRequest`], [`Stats`], ...) and [`NODE_TOKEN_PREFIX`].
//! - [`port`]: [`Port`], a public port a game listens on.
//! - [`game`]: [`Game`], how a template's game is known ready, counted
//!   and stopped.
//! - [`agent_client`]: [`AgentClient`], platform → agent, with
//!   [`AgentCallError`].
//! - [`platform_client`]: [`PlatformClient`], agent or proxy → platform,
//!   with [`PlatformCallError`].
//! - [`http`]: [`http_client`], the HTTP client both sides use, and
//!   [`error_text`].
//! - [`secret`]: [`same_secret`], constant-time token comparison.

#![warn(missing_docs)]

pub mod agent_client;
pub mod game;
pub mod http;
pub mod platform_client;
pub mod port;
pub mod secret;
pub mod wire;

pub use agent_client::{AgentCallError, AgentClient};
pub use game::{Game, Players, Ready, Stop};
pub use http::{error_text, http_client};
pub use platform_client::{PlatformCallError, PlatformClient};
pub use port::{Port, PortError};
pub use secret::same_secret;
pub use wire::{
    Assignment, ConsoleLine, ExitOutcome, Exited, Heartbeat, Registered, Registration,
    ServerReport, StartRequest, Started, Stats, NODE_TOKEN_PREFIX,
};
