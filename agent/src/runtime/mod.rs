//! How a node runs a world: the [`Runtime`] trait and what its two
//! implementations share.
//!
//! A runtime starts one world per server from a [`Launch`] (the template's
//! command line or image, its ports and resource limits, a data directory
//! that outlives the process) and resolves only once the world is **ready**:
//! a GSP world prints one `listening NAME=ADDR` line per listener after the
//! listener is bound (`telnet`, `quic`, then `http`), so the runtime reads
//! the world's output and is done the moment the last line it waits for
//! appears. No polling: the wake proxy's latency budget is the time between
//! that line and the first byte it splices.
//!
//! A world that exits on its own is noticed at once ([`Runtime::exited`]:
//! the process runtime waits on its child, the docker runtime follows the
//! container's output to its end and asks the engine how it ended); the
//! agent decides what follows ([`crate::restart`]).
//!
//! - [`process`]: a `gsp world` child process per server, with its own data
//!   directory, loopback ports (port 0, read back from its output) and log
//!   file; stopped with SIGTERM, then SIGKILL after a grace period.
//! - [`docker`] (bollard): a container per server from an image FROM
//!   scratch (`deploy/build-image`), with memory, CPU and PID limits,
//!   labels, TCP and UDP ports published on loopback, the data directory
//!   bind-mounted at `/data`, logs and stats from the engine.

pub mod docker;
mod expand;
pub mod process;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use gsp_agent_api::Port;

/// The listener every GSP world has besides its template's ports: HTTP with
/// `/health` and `/status` (players).
pub const HTTP_LISTENER: &str = "http";

/// How long a world may take from start to ready before the start fails.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Lines of output a runtime keeps in memory per server for `logs`.
pub const LOG_LINES: usize = 1000;

/// Everything a runtime needs to start one server's world.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The platform's server id (container names and labels carry it).
    pub server_id: i64,
    /// The command line (`process`) or image (`docker`). In a command line,
    /// a first word `gsp` means the running `gsp` binary itself.
    pub launch: String,
    /// The template's ports; the world also always has [`HTTP_LISTENER`].
    pub ports: Vec<Port>,
    /// CPU limit, thousandths of a core.
    pub cpu_millis: i64,
    /// Memory limit, MiB.
    pub memory_mib: i64,
    /// The world's data directory on the node; it survives stop
    /// (hibernation) and is deleted by the agent on remove.
    pub data_dir: PathBuf,
    /// Where the world's output is appended, one line per line.
    pub log_file: PathBuf,
    /// Extra environment for the world (`GSP_WORLD_NAME`, ...).
    pub env: Vec<(String, String)>,
    /// How the game is known ready and stops (a GSP world by default).
    pub game: gsp_agent_api::Game,
}

impl Launch {
    /// The listener names the world must report before it counts as ready:
    /// each port's name, and [`HTTP_LISTENER`].
    pub fn listeners(&self) -> Vec<String> {
        let mut names: Vec<String> = self.ports.iter().map(|p| p.name.clone()).collect();
        if self.game.is_gsp() && !names.iter().any(|n| n == HTTP_LISTENER) {
            names.push(HTTP_LISTENER.to_owned());
        }
        names
    }
}

/// A world that is up: where the node reaches each of its listeners.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Started {
    /// Listener name (`telnet`, `quic`, `http`) to the address the node
    /// connects to (loopback, or the host side of a container's binding).
    pub listeners: BTreeMap<String, SocketAddr>,
}

/// What a runtime measures of a world's process or container.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Whether it runs.
    pub running: bool,
    /// CPU use since the last reading, percent of one core.
    pub cpu_percent: f64,
    /// Resident memory, MiB.
    pub memory_mib: f64,
}

/// How a world's process or container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// Whether it exited with code 0.
    pub success: bool,
    /// How, for people: `exit status: 1`, `signal: 9 (SIGKILL)`,
    /// `exit code 137`.
    pub status: String,
    /// When the runtime saw it end.
    pub at: SystemTime,
}

impl Exit {
    /// When it ended, Unix ms.
    pub fn at_ms(&self) -> i64 {
        self.at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Why a runtime operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The launch cannot be run by this runtime (bad command line, an image
    /// for the process runtime...).
    #[error("invalid launch: {0}")]
    Invalid(String),
    /// The world exited or failed before it was ready; the text has its
    /// last output.
    #[error("the world did not start: {0}")]
    Failed(String),
    /// The world was not ready within the timeout.
    #[error("the world was not ready within {0:?}")]
    NotReady(Duration),
    /// This runtime runs no such server.
    #[error("no such server on this node")]
    Unknown,
    /// The operating system or the container engine failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The container engine refused or failed.
    #[error("the container engine: {0}")]
    Engine(String),
}

impl RuntimeError {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RuntimeError {
        let context = context.into();
        move |source| RuntimeError::Io { context, source }
    }
}

/// Runs worlds on this node. Implementations are cheap to share (`Arc`).
pub trait Runtime: Send + Sync + 'static {
    /// "process" or "docker".
    fn name(&self) -> &'static str;
    /// Which template runtime it runs: "command" or "image".
    fn runs(&self) -> &'static str;
    /// Starts the world and resolves once it is ready (every listener of
    /// [`Launch::listeners`] reported), or fails with its output. Starting
    /// a server that runs already returns where it listens.
    fn start<'a>(&'a self, launch: &'a Launch) -> BoxFuture<'a, Result<Started, RuntimeError>>;
    /// Stops the world gracefully (SIGTERM: it saves and exits), killing it
    /// after `grace`. Stopping a stopped server is fine.
    fn stop(&self, server_id: i64, grace: Duration) -> BoxFuture<'_, Result<(), RuntimeError>>;
    /// Stops it (like `stop`) and removes what the runtime made for it
    /// (the container). The agent deletes the data directory.
    fn remove(&self, server_id: i64, grace: Duration) -> BoxFuture<'_, Result<(), RuntimeError>>;
    /// The last `lines` lines of its output, oldest first, across restarts.
    fn logs(
        &self,
        server_id: i64,
        lines: usize,
    ) -> BoxFuture<'_, Result<Vec<String>, RuntimeError>>;
    /// Its CPU and memory now.
    fn usage(&self, server_id: i64) -> BoxFuture<'_, Result<Usage, RuntimeError>>;
    /// Resolves when the world started last exits, however it ends (a
    /// stop, or on its own), with how: the process runtime waits for the
    /// child, the docker runtime follows the container to its end. At once
    /// when it has exited already; `None` when this runtime never started
    /// one for `server_id` (or stopped following it).
    fn exited(&self, server_id: i64) -> BoxFuture<'_, Option<Exit>>;
    /// Writes `line` to the running world's standard input (its console),
    /// echoed in its log as `> line`. A runtime without consoles says so.
    fn send_line<'a>(
        &'a self,
        server_id: i64,
        line: &'a str,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        let _ = (server_id, line);
        Box::pin(async {
            Err(RuntimeError::Invalid(
                "this runtime has no console for its worlds yet".into(),
            ))
        })
    }
}

/// Reads a `listening NAME=ADDR` line (as `gsp world` prints them).
pub fn parse_listening(line: &str) -> Option<(&str, SocketAddr)> {
    let rest = line.trim().strip_prefix("listening ")?;
    let (name, addr) = rest.split_once('=')?;
    Some((name, addr.trim().parse().ok()?))
}

/// The last [`LOG_LINES`] lines of a world's output, shared between the
/// task that reads the output and the `logs` call.
#[derive(Debug, Clone, Default)]
pub struct LogRing {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl LogRing {
    /// Appends a line, dropping the oldest past [`LOG_LINES`].
    pub fn push(&self, line: String) {
        let mut lines = lock(&self.lines);
        if lines.len() == LOG_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let lines = lock(&self.lines);
        lines
            .iter()
            .skip(lines.len().saturating_sub(n))
            .cloned()
            .collect()
    }
}

/// Every server's [`LogRing`], kept across restarts of its world until
/// the server is removed.
#[derive(Debug, Default)]
pub struct LogBook {
    rings: Mutex<HashMap<i64, LogRing>>,
}

impl LogBook {
    /// The ring of `server_id`, made empty on first use.
    pub fn ring(&self, server_id: i64) -> LogRing {
        lock(&self.rings).entry(server_id).or_default().clone()
    }

    /// The last `lines` lines of `server_id`, or [`RuntimeError::Unknown`]
    /// for a server this runtime never ran.
    pub fn tail(&self, server_id: i64, lines: usize) -> Result<Vec<String>, RuntimeError> {
        lock(&self.rings)
            .get(&server_id)
            .map(|ring| ring.tail(lines))
            .ok_or(RuntimeError::Unknown)
    }

    /// Drops the ring of a removed server.
    pub fn forget(&self, server_id: i64) {
        lock(&self.rings).remove(&server_id);
    }
}

/// Locks a mutex, taking over its value when a holder panicked (the data
/// behind the runtimes' mutexes stays valid at every step).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines_parse() {
        assert_eq!(
            parse_listening("listening telnet=127.0.0.1:4000"),
            Some(("telnet", "127.0.0.1:4000".parse().unwrap()))
        );
        assert_eq!(
            parse_listening("listening quic=[::1]:4433\n"),
            Some(("quic", "[::1]:4433".parse().unwrap()))
        );
        assert_eq!(parse_listening("listening telnet=nowhere"), None);
        assert_eq!(parse_listening("quic certificate sha256=ab"), None);
    }

    #[test]
    fn the_log_ring_keeps_the_tail() {
        let ring = LogRing::default();
        for i in 0..LOG_LINES + 5 {
            ring.push(i.to_string());
        }
        assert_eq!(
            ring.tail(2),
            vec![(LOG_LINES + 3).to_string(), (LOG_LINES + 4).to_string()]
        );
        assert_eq!(ring.tail(usize::MAX).len(), LOG_LINES);
        assert_eq!(ring.tail(usize::MAX)[0], "5");
    }

    #[test]
    fn ready_means_every_port_and_http() {
        let launch = Launch {
            server_id: 1,
            launch: "gsp world".into(),
            ports: Port::gsp_world(),
            cpu_millis: 1000,
            memory_mib: 256,
            data_dir: "d".into(),
            log_file: "l".into(),
            env: vec![],
            game: Default::default(),
        };
        assert_eq!(launch.listeners(), ["telnet", "quic", "http"]);
    }
}
