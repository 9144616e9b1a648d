//! Nodes: the machines that run worlds, and how the platform drives them.
//!
//! - [`runtime`]: how a world runs on a node (a child process, or a Docker
//!   container), behind one trait.
//! - [`agent`]: the node agent's core (`gsp agent`): the servers it hosts,
//!   each behind a [wake proxy](gsp_proxy), registration and
//!   heartbeats.
//! - [`http`]: the agent's API, which only the platform calls.
//! - [`gsp_agent_api`]: what the two say to each other, and their HTTP
//!   clients.
//! - [`fleet`]: the platform's side: node tokens, registrations,
//!   placement, and the [`Agent`](crate::servers::agent::Agent) that
//!   calls node agents over HTTP.
//!
//! ```text
//!  player ──telnet/QUIC──▶ wake proxy ──▶ world (process or container)
//!                              │ wake                 ▲ start/stop
//!                              ▼                      │
//!                           platform ──HTTP (callback token)──▶ agent
//!                              ▲                      │
//!                              └──register, heartbeat (node token)
//! ```

pub mod agent;
pub mod fleet;
pub mod http;
pub mod routes;
pub mod runtime;
