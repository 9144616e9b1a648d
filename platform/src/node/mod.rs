//! Nodes: the machines that run worlds, as the platform sees them.
//!
//! - [`fleet`]: the node registry (tokens, registrations, heartbeats),
//!   placement, and the [`Orchestrator`](gsp_control::servers::orchestrator::Orchestrator) that
//!   drives each node's agent through [`gsp_agent_api::AgentClient`].
//! - [`routes`]: the platform's routes for node agents (`/nodes/v1`).
//!
//! The agent itself (`gsp agent`) is the `gsp-agent` crate, and what the
//! two say to each other is [`gsp_agent_api`].
//!
//! ```text
//!  player ──telnet/QUIC──▶ wake proxy ──▶ world (process or container)
//!                              │ wake                 ▲ start/stop
//!                              ▼                      │
//!                           platform ──HTTP (callback token)──▶ agent
//!                              ▲                      │
//!                              └──register, heartbeat (node token)
//! ```

pub mod fleet;
pub mod routes;
