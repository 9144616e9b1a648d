//! How the platform makes servers real: an [`Agent`] on a node starts and
//! stops them (a child process or a Docker container) and reports their
//! logs and stats. The node agents (`gsp agent`) implement it over HTTP;
//! the platform only ever talks to this trait.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Server, Template};

/// A boxed future, so that [`Agent`] can be a trait object.
pub use futures_util::future::BoxFuture;
/// What a node reports about one server.
pub use gsp_agent_api::Stats;

/// A node, as its agent last reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Node {
    /// Its name.
    pub name: String,
    /// Where the platform reaches its agent.
    pub address: String,
    /// How it runs servers: "process" or "docker".
    pub runtime: String,
    /// Servers it runs now.
    pub servers: u32,
    /// CPU, thousandths of a core: all of it, and what servers have not
    /// reserved.
    pub cpu_total_millis: i64,
    /// See `cpu_total_millis`.
    pub cpu_free_millis: i64,
    /// Memory, MiB: all of it, and what servers have not reserved.
    pub memory_total_mib: i64,
    /// See `memory_total_mib`.
    pub memory_free_mib: i64,
    /// When it last reported, Unix ms.
    pub last_seen_ms: i64,
}

/// Why an agent call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// No node has room for the server.
    #[error("no node has room for this server")]
    NoCapacity,
    /// The node does not know the server.
    #[error("the node does not know this server")]
    Unknown,
    /// The node could not be reached or failed; the text is for the log.
    #[error("the node failed: {0}")]
    Node(String),
}

/// Starts, stops and watches servers on nodes.
pub trait Agent: Send + Sync + 'static {
    /// Starts (or wakes) `server` as `template` says.
    fn start<'a>(
        &'a self,
        server: &'a Server,
        template: &'a Template,
    ) -> BoxFuture<'a, Result<(), AgentError>>;
    /// Whether a new server of `template` would find room, asked before a
    /// server is made (and its first hour charged). An agent that does not
    /// place servers always has room.
    fn has_room<'a>(&'a self, template: &'a Template) -> BoxFuture<'a, Result<(), AgentError>> {
        let _ = template;
        Box::pin(async { Ok(()) })
    }
    /// Stops the server, keeping its data (hibernation): a final save, then
    /// the process or container stops.
    fn stop(&self, server_id: i64) -> BoxFuture<'_, Result<(), AgentError>>;
    /// Stops the server and removes it with its data.
    fn remove(&self, server_id: i64) -> BoxFuture<'_, Result<(), AgentError>>;
    /// The last `lines` lines of its log.
    fn logs(&self, server_id: i64, lines: usize) -> BoxFuture<'_, Result<Vec<String>, AgentError>>;
    /// Its current stats.
    fn stats(&self, server_id: i64) -> BoxFuture<'_, Result<Stats, AgentError>>;
    /// A consistent snapshot of the server's data: a gzip'd tar (see
    /// [`crate::backup`]), taken while it runs or sleeps.
    fn backup(&self, server_id: i64) -> BoxFuture<'_, Result<Vec<u8>, AgentError>> {
        let _ = server_id;
        Box::pin(async { Err(AgentError::Node("this agent cannot back up servers".into())) })
    }
    /// Replaces the (stopped) server's data with `archive`.
    fn restore(&self, server_id: i64, archive: Vec<u8>) -> BoxFuture<'_, Result<(), AgentError>> {
        let _ = (server_id, archive);
        Box::pin(async { Err(AgentError::Node("this agent cannot restore servers".into())) })
    }
    /// The nodes behind this agent, for the admin pages. An agent that does
    /// not track nodes knows none.
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<Node>, AgentError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}
