//! The GSP node agent: what `gsp agent` runs on every machine that hosts
//! worlds for the platform (and what `gsp up` runs in-process for its one
//! local node).
//!
//! The agent starts, stops and removes the worlds the platform places on
//! its node, each through a [`runtime`] (a child process or a Docker
//! container) and each behind a wake proxy ([`gsp_proxy`]) that stays up
//! while the world sleeps. It registers with the platform and reports
//! every few seconds through [`gsp_agent_api::PlatformClient`], and serves
//! the platform's calls on its own HTTP API ([`http`]). It never links the
//! platform, its database or the engine: worlds are programs it runs.
//!
//! ```text
//!  player ──telnet/QUIC──▶ wake proxy ──▶ world (process or container)
//!                              │ wake                 ▲ start/stop
//!                              ▼                      │
//!                           platform ──HTTP (callback token)──▶ agent
//!                              ▲                      │
//!                              └──register, heartbeat (node token)
//! ```
//!
//! # Layout
//!
//! - [`agent`]: [`Agent`], the agent's core: the servers it hosts, their
//!   slots and proxies, registration and heartbeats; [`AgentConfig`],
//!   [`PortRange`], [`AgentError`].
//! - [`http`]: the agent's HTTP API, which only the platform calls.
//! - [`probe`]: asking a running game about itself (TCP accept, Minecraft
//!   status, A2S_INFO, Satisfactory query), for readiness and players.
//! - [`restart`]: the restart policy for worlds that fail, without I/O
//!   ([`restart::Restarts`]); the agent's supervisors apply it.
//! - [`runtime`]: how a world runs: the [`runtime::Runtime`] trait,
//!   [`runtime::process`] and [`runtime::docker`].
//! - [`archive`]: backup archives of a world's data directory (snapshot
//!   while it runs, restore while it is stopped), with [`ArchiveError`].

#![warn(missing_docs)]

pub mod agent;
pub mod archive;
pub mod http;
pub mod probe;
pub mod restart;
pub mod runtime;

pub use agent::{callback_token, Agent, AgentConfig, AgentError, PortRange};
pub use archive::ArchiveError;
pub use restart::RestartPolicy;
