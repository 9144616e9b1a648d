//! What the platform and its node agents say to each other over HTTP, as
//! JSON. Each side authenticates the other with a bearer token: agent →
//! platform with the node's token (`gsp_nt_…`, made by an admin), platform
//! → agent with the callback token the agent chose and registered.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Game, Port};

/// The prefix of node tokens.
pub const NODE_TOKEN_PREFIX: &str = "gsp_nt_";

/// Agent → platform, at start and whenever the platform forgot it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    /// Where the platform reaches the agent's API (`http://10.0.0.5:8081`).
    pub address: String,
    /// The token the platform must show on every call to the agent.
    pub callback_token: String,
    /// "process" or "docker".
    pub runtime: String,
    /// CPU the node offers, thousandths of a core.
    pub cpu_total_millis: i64,
    /// Memory the node offers, MiB.
    pub memory_total_mib: i64,
    /// Public ports the node can still give servers.
    pub free_ports: u32,
}

/// Platform → agent: the answer to a registration. The servers placed on
/// the node, for the agent to put their wake proxies back on their ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    /// The node's name.
    pub name: String,
    /// Every server placed on the node (none of them running: a node that
    /// registers anew runs nothing yet).
    pub servers: Vec<Assignment>,
}

/// A server placed on a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The server.
    pub id: i64,
    /// How to run it.
    pub spec: StartRequest,
    /// Its public addresses, by listener, to bind again.
    pub endpoints: BTreeMap<String, SocketAddr>,
}

/// Agent → platform, every few seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Public ports the node can still give servers.
    pub free_ports: u32,
    /// Every server the node hosts.
    pub servers: Vec<ServerReport>,
}

/// One server, as its node sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerReport {
    /// The server.
    pub id: i64,
    /// Whether its world runs.
    pub running: bool,
    /// Players in the world, as the world reports them.
    pub players: u32,
    /// Clients connected through its proxy (held or spliced).
    pub clients: u32,
    /// How long it has had neither players nor clients, ms (0 while it has).
    pub idle_ms: u64,
    /// CPU use, percent of one core.
    pub cpu_percent: f64,
    /// Memory in use, MiB.
    pub memory_mib: f64,
    /// Where its proxy listens, by listener.
    pub endpoints: BTreeMap<String, SocketAddr>,
}

/// Agent → platform: a server's world exited without being asked to
/// (`POST /nodes/v1/servers/{id}/exited`), and what the agent does about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exited {
    /// When it exited, Unix ms (the node's clock).
    pub at_ms: i64,
    /// How it ended, for people: `exit code 1`, `killed by signal 9`.
    pub status: String,
    /// What the agent does next.
    pub outcome: ExitOutcome,
    /// The last lines of its output, oldest first.
    pub last_lines: Vec<String>,
}

/// What an agent does about a world that exited on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ExitOutcome {
    /// It failed and is started again after `after_ms` (restart `attempt`
    /// of the restart policy's window).
    Restarting {
        /// Which restart this is, from 1.
        attempt: u32,
        /// The back-off before it, ms.
        after_ms: u64,
    },
    /// It failed too often: the agent gave up, the server is crashed.
    Crashed,
    /// It exited cleanly (code 0) on its own: it stays stopped.
    Stopped,
}

/// Platform → agent: start (or wake) a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRequest {
    /// The template's runtime: "command" or "image".
    pub runtime: String,
    /// The command line or image.
    pub launch: String,
    /// The ports players use.
    pub ports: Vec<Port>,
    /// CPU, thousandths of a core.
    pub cpu_millis: i64,
    /// Memory, MiB.
    pub memory_mib: i64,
    /// How the game is known ready, counted and stopped (a GSP world when
    /// absent).
    #[serde(default)]
    pub game: Game,
}

/// A line for a server's console (its standard input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsoleLine {
    /// The line, without its newline.
    #[schema(example = "say hello")]
    pub line: String,
}

impl ConsoleLine {
    /// The longest line, bytes.
    pub const MAX: usize = 1000;

    /// Whether `line` is one: 1 to [`ConsoleLine::MAX`] bytes of printable
    /// text (no newline that would make it two commands).
    pub fn check(line: &str) -> Result<(), String> {
        if line.trim().is_empty()
            || line.len() > ConsoleLine::MAX
            || line.chars().any(char::is_control)
        {
            return Err(format!(
                "a console line is 1 to {} bytes of printable text",
                ConsoleLine::MAX
            ));
        }
        Ok(())
    }
}

/// Agent → platform: where a started server's proxy listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    /// Public addresses by listener.
    pub endpoints: BTreeMap<String, SocketAddr>,
}

/// What a node reports about one server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    /// Whether its process or container runs.
    pub running: bool,
    /// CPU use, percent of one core.
    pub cpu_percent: f64,
    /// Memory in use, MiB.
    pub memory_mib: f64,
    /// Players connected, as the world reports them.
    pub players: u32,
}
