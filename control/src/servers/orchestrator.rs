//! How the control plane makes servers real: an [`Orchestrator`] starts and
//! stops them on nodes (a child process or a Docker container run by the
//! node's agent) and reports their logs and stats. The fleet
//! ([`FleetOrchestrator`](crate::fleet::FleetOrchestrator)) implements it by calling node
//! agents (`gsp agent`) over HTTP; [`crate::hosting`] is its one caller
//! for changes.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Server, Template};

/// A boxed future, so that [`Orchestrator`] can be a trait object.
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

/// Why an orchestrator call failed.
#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    /// No node has room for the server.
    #[error("no node has room for this server")]
    NoCapacity,
    /// The node does not know the server.
    #[error("the node does not know this server")]
    Unknown,
    /// The node could not be reached or failed; the text is for the log.
    #[error("the node failed: {0}")]
    Node(String),
    /// The agent of node `node` could not be reached, or failed.
    #[error("the node failed: node {node}: {source}")]
    Agent {
        /// The node's name.
        node: String,
        /// What its agent call said.
        #[source]
        source: gsp_agent_api::AgentCallError,
    },
    /// The control plane's own records could not be read or written.
    #[error(transparent)]
    Store(#[from] gsp_store::StoreError),
}

/// Starts, stops and watches servers on nodes.
pub trait Orchestrator: Send + Sync + 'static {
    /// Starts (or wakes) `server` as `template` says.
    fn start<'a>(
        &'a self,
        server: &'a Server,
        template: &'a Template,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>>;
    /// Whether a new server of `template` would find room, asked before a
    /// server is made (and its first hour charged). An orchestrator that
    /// does not place servers always has room.
    fn has_room<'a>(
        &'a self,
        template: &'a Template,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        let _ = template;
        Box::pin(async { Ok(()) })
    }
    /// Stops the server, keeping its data (hibernation): a final save, then
    /// the process or container stops.
    fn stop(&self, server_id: i64) -> BoxFuture<'_, Result<(), OrchestratorError>>;
    /// Stops the server and removes it with its data.
    fn remove(&self, server_id: i64) -> BoxFuture<'_, Result<(), OrchestratorError>>;
    /// The last `lines` lines of its log.
    fn logs(
        &self,
        server_id: i64,
        lines: usize,
    ) -> BoxFuture<'_, Result<Vec<String>, OrchestratorError>>;
    /// Its current stats.
    fn stats(&self, server_id: i64) -> BoxFuture<'_, Result<Stats, OrchestratorError>>;
    /// Writes `line` to its console (standard input).
    fn console<'a>(
        &'a self,
        server_id: i64,
        line: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        let _ = (server_id, line);
        Box::pin(async {
            Err(OrchestratorError::Node(
                "this orchestrator has no consoles".into(),
            ))
        })
    }
    /// A consistent snapshot of the server's data: a gzip'd tar (see
    /// [`crate::backup`]), taken on its node while it runs or sleeps.
    fn backup(&self, server_id: i64) -> BoxFuture<'_, Result<Vec<u8>, OrchestratorError>> {
        let _ = server_id;
        Box::pin(async {
            Err(OrchestratorError::Node(
                "this orchestrator cannot back up servers".into(),
            ))
        })
    }
    /// Replaces the (stopped) server's data with `archive`.
    fn restore(
        &self,
        server_id: i64,
        archive: Vec<u8>,
    ) -> BoxFuture<'_, Result<(), OrchestratorError>> {
        let _ = (server_id, archive);
        Box::pin(async {
            Err(OrchestratorError::Node(
                "this orchestrator cannot restore servers".into(),
            ))
        })
    }
    /// The nodes behind this orchestrator, for the admin pages. One that
    /// does not track nodes knows none.
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<Node>, OrchestratorError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}
