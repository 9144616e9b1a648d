//! The docker runtime: each world is a container of the Docker engine.
//!
//! A template's `launch` names an image (`gsp-world:dev`, built by
//! `deploy/build-image`). Starting server 7 makes a fresh container
//! `gsp-server-7` (labels `gsp.managed=true`, `gsp.server=7`) from it:
//!
//! - **Limits** from the template: memory (swap the same, so no swap),
//!   CPU as `NanoCpus`, at most 256 processes.
//! - **Data**: the server's data directory on the node is bind-mounted at
//!   `/data`, so a stopped (hibernated) world's saves wait on the node and a
//!   container can always be made afresh: the runtime removes any old
//!   container of the same name before it creates one.
//! - **Listeners** at fixed ports inside ([`spec`] says which), published
//!   on the node's loopback at ports the engine picks and read back once
//!   the world is up.
//! - **Readiness** as in the process runtime: the world prints one
//!   `listening NAME=ADDR` line per listener; the runtime follows the
//!   container's output (`follow`) into the server's log file and log
//!   ring, and `start` resolves when every listener has been named. The
//!   addresses printed are the container's own and are ignored. As in the
//!   process runtime the world logs at `info` (or the agent's
//!   `GSP_WORLD_LOG`) without colour codes, for people on the dashboard.
//! - **Exits**: the follower's stream ends when the container stops; it
//!   then asks the engine how (waiting for the end if the stream ended
//!   early) and reports it to [`Runtime::exited`], so a container that dies
//!   on its own (`docker kill`, out of memory) is noticed at once.
//! - **Stop** is the engine's: SIGTERM (the world saves and exits 0), then
//!   SIGKILL after the grace period.
//! - **Usage** is one stats sample from the engine (`stats`).
//!
//! Containers outlive the agent. Starting a server whose container runs
//! already returns where it listens (read from the engine), so an agent that
//! restarts takes its worlds back without restarting them.

pub mod spec;

mod follow;
mod stats;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::errors::Error as EngineError;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, KillContainerOptions, RemoveContainerOptions,
    StartContainerOptions, StatsOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use self::follow::Sink;
use self::spec::{container_name, Listener};
use super::{
    lock, Exit, Launch, LogBook, LogRing, Runtime, RuntimeError, Started, Usage, READY_TIMEOUT,
};

/// How long `stop` waits past the grace period for the engine to answer
/// (it answers once the container is gone), and `start` for the follower
/// to write its last line.
const ENGINE_SLACK: Duration = Duration::from_secs(30);

/// Runs worlds as containers of the local Docker engine.
#[derive(Debug)]
pub struct DockerRuntime {
    docker: Docker,
    /// The output each server's world wrote, across restarts.
    logs: LogBook,
    /// The task following each server's current container.
    followers: Mutex<HashMap<i64, JoinHandle<()>>>,
    /// How each server's current container ended, once it has.
    exits: Mutex<HashMap<i64, watch::Receiver<Option<Exit>>>>,
    /// One start, stop or remove at a time per server.
    busy: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

impl DockerRuntime {
    /// Connects to the engine the way the `docker` CLI does by default
    /// (`DOCKER_HOST`, else `/var/run/docker.sock`), agrees on an API
    /// version it speaks, and checks that it answers.
    pub async fn connect() -> Result<DockerRuntime, RuntimeError> {
        let docker = Docker::connect_with_defaults().map_err(engine("connecting to the engine"))?;
        let docker = docker.negotiate_version().await.map_err(engine(
            "asking the engine for its API version (is dockerd running?)",
        ))?;
        docker.ping().await.map_err(engine("pinging the engine"))?;
        tracing::info!(api = %docker.client_version(), "connected to the docker engine");
        Ok(DockerRuntime::with_client(docker))
    }

    /// A runtime on an engine client the caller made.
    pub fn with_client(docker: Docker) -> DockerRuntime {
        DockerRuntime {
            docker,
            logs: LogBook::default(),
            followers: Mutex::new(HashMap::new()),
            exits: Mutex::new(HashMap::new()),
            busy: Mutex::new(HashMap::new()),
        }
    }

    /// The engine client, for what the [`Runtime`] trait does not cover
    /// (listing the node's `gsp.managed` containers, tests' inspections).
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    fn ring(&self, server_id: i64) -> LogRing {
        self.logs.ring(server_id)
    }

    async fn exclusive(&self, server_id: i64) -> tokio::sync::OwnedMutexGuard<()> {
        let gate = lock(&self.busy).entry(server_id).or_default().clone();
        gate.lock_owned().await
    }

    /// The container's inspect data, `None` when there is no such container.
    async fn inspect(&self, name: &str) -> Result<Option<ContainerInspectResponse>, RuntimeError> {
        match self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
        {
            Ok(c) => Ok(Some(c)),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(engine(format!("inspecting {name}"))(e)),
        }
    }

    /// Starts following the output of server `server_id`'s container from
    /// `since`, replacing any earlier follower; returns the channel the
    /// world's `listening` names arrive on.
    fn follow(&self, server_id: i64, since: i32, sink: Sink) -> mpsc::UnboundedReceiver<String> {
        let (seen_tx, seen_rx) = mpsc::unbounded_channel();
        let (exit_tx, exit_rx) = watch::channel(None);
        lock(&self.exits).insert(server_id, exit_rx);
        let task = tokio::spawn(follow::follow(
            self.docker.clone(),
            container_name(server_id),
            since,
            sink,
            seen_tx,
            exit_tx,
        ));
        if let Some(old) = lock(&self.followers).insert(server_id, task) {
            old.abort();
        }
        seen_rx
    }

    /// Waits (a while) for the follower to have written its last line.
    async fn unfollow(&self, server_id: i64) {
        let task = lock(&self.followers).remove(&server_id);
        if let Some(mut task) = task {
            if tokio::time::timeout(ENGINE_SLACK, &mut task).await.is_err() {
                task.abort();
            }
        }
    }

    async fn launch(&self, launch: &Launch) -> Result<Started, RuntimeError> {
        let id = launch.server_id;
        let _busy = self.exclusive(id).await;
        let name = container_name(id);
        let listeners = spec::listeners(launch)?;
        // A launch it cannot run is refused before anything is removed or
        // made for it (the real data directory comes later).
        spec::create_body(launch, &listeners, std::path::Path::new("/"))?;

        if let Some(existing) = self.inspect(&name).await? {
            if running(&existing) {
                return self.adopt(launch, &listeners, &existing).await;
            }
            self.docker
                .remove_container(&name, Some(force_remove()))
                .await
                .or_else(not_found_is_ok)
                .map_err(engine(format!("removing the old container {name}")))?;
        }

        std::fs::create_dir_all(&launch.data_dir).map_err(RuntimeError::io(format!(
            "creating {}",
            launch.data_dir.display()
        )))?;
        let data_dir = std::fs::canonicalize(&launch.data_dir).map_err(RuntimeError::io(
            format!("resolving {}", launch.data_dir.display()),
        ))?;
        let body = spec::create_body(launch, &listeners, &data_dir)?;
        let sink = self.sink(launch)?;

        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(engine(format!(
                "creating {name} from image {}",
                launch.launch.trim()
            )))?;
        if let Err(e) = self
            .docker
            .start_container(&name, None::<StartContainerOptions>)
            .await
        {
            let _ = self
                .docker
                .remove_container(&name, Some(force_remove()))
                .await;
            return Err(engine(format!("starting {name}"))(e));
        }
        sink.note(format_args!(
            "started container {name} from {}",
            launch.launch.trim()
        ));
        let mut seen = self.follow(id, 0, sink.clone());

        // A game other than a GSP world is ready when it answers its probe
        // on the ports the engine published.
        let probed_at = if launch.game.is_gsp() {
            None
        } else {
            if matches!(launch.game.ready, gsp_agent_api::Ready::LogLine { .. }) {
                return Err(RuntimeError::Invalid(
                    "the docker runtime knows readiness by a probe, not a log line".into(),
                ));
            }
            let inspected = self
                .inspect(&name)
                .await?
                .ok_or_else(|| RuntimeError::Engine(format!("{name} vanished as it started")))?;
            let ports = inspected
                .network_settings
                .as_ref()
                .and_then(|n| n.ports.as_ref());
            Some(spec::host_addresses(&listeners, ports)?)
        };
        let mut missing: BTreeSet<&str> = listeners.iter().map(|l| l.name.as_str()).collect();
        let ready = async {
            if let Some(at) = &probed_at {
                let ended = async { while seen.recv().await.is_some() {} };
                tokio::select! {
                    _ = crate::probe::until_ready(&launch.game.ready, at) => return true,
                    _ = ended => return false,
                }
            }
            while !missing.is_empty() {
                // The follower ends (and closes the channel) when the
                // container stops, after writing how it ended.
                let Some(listener) = seen.recv().await else {
                    return false;
                };
                missing.remove(listener.as_str());
            }
            true
        };
        match tokio::time::timeout(READY_TIMEOUT, ready).await {
            Ok(true) => {}
            Ok(false) => {
                self.unfollow(id).await;
                return Err(RuntimeError::Failed(sink.ring.tail(20).join("\n")));
            }
            Err(_) => {
                sink.note(format_args!(
                    "not ready within {READY_TIMEOUT:?}: killing it"
                ));
                let kill = KillContainerOptions {
                    signal: "SIGKILL".into(),
                };
                let _ = self.docker.kill_container(&name, Some(kill)).await;
                return Err(RuntimeError::NotReady(READY_TIMEOUT));
            }
        }

        let inspected = self
            .inspect(&name)
            .await?
            .ok_or_else(|| RuntimeError::Engine(format!("{name} vanished as it started")))?;
        let ports = inspected
            .network_settings
            .as_ref()
            .and_then(|n| n.ports.as_ref());
        let started = Started {
            listeners: spec::host_addresses(&listeners, ports)?,
        };
        tracing::info!(server = id, container = %name, listeners = ?started.listeners, "world ready");
        Ok(started)
    }

    /// Server `launch.server_id`'s container runs already: where it
    /// listens, and its output followed from now on if nobody does.
    async fn adopt(
        &self,
        launch: &Launch,
        listeners: &[Listener],
        existing: &ContainerInspectResponse,
    ) -> Result<Started, RuntimeError> {
        let id = launch.server_id;
        let ports = existing
            .network_settings
            .as_ref()
            .and_then(|n| n.ports.as_ref());
        let listeners = spec::host_addresses(listeners, ports).map_err(|e| {
            RuntimeError::Engine(format!(
                "{} runs with other ports than its template's ({e}); stop it first",
                container_name(id)
            ))
        })?;
        let followed = lock(&self.followers)
            .get(&id)
            .is_some_and(|t| !t.is_finished());
        if !followed {
            let sink = self.sink(launch)?;
            sink.note(format_args!(
                "took over the running container {}",
                container_name(id)
            ));
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX));
            drop(self.follow(id, now, sink));
        }
        Ok(Started { listeners })
    }

    /// The server's log ring and its log file, opened for appending.
    fn sink(&self, launch: &Launch) -> Result<Sink, RuntimeError> {
        if let Some(dir) = launch.log_file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(RuntimeError::io(format!("creating {}", dir.display())))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.log_file)
            .map_err(RuntimeError::io(format!(
                "opening {}",
                launch.log_file.display()
            )))?;
        Ok(Sink {
            ring: self.ring(launch.server_id),
            file: Arc::new(Mutex::new(file)),
        })
    }

    async fn halt(&self, server_id: i64, grace: Duration) -> Result<(), RuntimeError> {
        let name = container_name(server_id);
        // The engine answers once the container has stopped: up to `grace`.
        let seconds = i32::try_from(grace.as_secs() + u64::from(grace.subsec_nanos() > 0))
            .unwrap_or(i32::MAX);
        let options = StopContainerOptions {
            t: Some(seconds),
            ..Default::default()
        };
        self.docker
            .clone()
            .with_timeout(grace.saturating_add(ENGINE_SLACK))
            .stop_container(&name, Some(options))
            .await
            .or_else(not_found_is_ok)
            .map_err(engine(format!("stopping {name}")))?;
        self.unfollow(server_id).await;
        tracing::info!(server = server_id, container = %name, "world stopped");
        Ok(())
    }

    async fn usage_of(&self, server_id: i64) -> Result<Usage, RuntimeError> {
        let name = container_name(server_id);
        match self.inspect(&name).await? {
            Some(c) if running(&c) => {}
            _ => return Ok(Usage::default()),
        }
        // stream=false: one sample, which the engine takes over about a
        // second so that it holds two CPU readings.
        let options = StatsOptions {
            stream: false,
            one_shot: false,
        };
        let sample = self.docker.stats(&name, Some(options)).next().await;
        let sample = match sample {
            Some(Ok(s)) => s,
            Some(Err(e)) if status(&e) == Some(404) => return Ok(Usage::default()),
            Some(Err(e)) => return Err(engine(format!("reading the stats of {name}"))(e)),
            None => {
                return Err(RuntimeError::Engine(format!(
                    "the engine sent no stats for {name}"
                )))
            }
        };
        Ok(Usage {
            running: true,
            cpu_percent: stats::cpu_percent(&sample),
            memory_mib: stats::memory_mib(&sample),
        })
    }
}

impl Runtime for DockerRuntime {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn runs(&self) -> &'static str {
        "image"
    }

    fn start<'a>(&'a self, launch: &'a Launch) -> BoxFuture<'a, Result<Started, RuntimeError>> {
        Box::pin(self.launch(launch))
    }

    fn stop(&self, server_id: i64, grace: Duration) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            let _busy = self.exclusive(server_id).await;
            self.halt(server_id, grace).await
        })
    }

    fn remove(&self, server_id: i64, grace: Duration) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            let _busy = self.exclusive(server_id).await;
            self.halt(server_id, grace).await?;
            let name = container_name(server_id);
            self.docker
                .remove_container(&name, Some(force_remove()))
                .await
                .or_else(not_found_is_ok)
                .map_err(engine(format!("removing {name}")))?;
            self.logs.forget(server_id);
            lock(&self.exits).remove(&server_id);
            tracing::info!(server = server_id, container = %name, "container removed");
            Ok(())
        })
    }

    fn logs(
        &self,
        server_id: i64,
        lines: usize,
    ) -> BoxFuture<'_, Result<Vec<String>, RuntimeError>> {
        Box::pin(std::future::ready(self.logs.tail(server_id, lines)))
    }

    fn usage(&self, server_id: i64) -> BoxFuture<'_, Result<Usage, RuntimeError>> {
        Box::pin(self.usage_of(server_id))
    }

    fn exited(&self, server_id: i64) -> BoxFuture<'_, Option<Exit>> {
        Box::pin(async move {
            let mut exits = lock(&self.exits).get(&server_id)?.clone();
            let exit = exits.wait_for(Option::is_some).await.ok()?.clone();
            exit
        })
    }
}

fn running(c: &ContainerInspectResponse) -> bool {
    c.state.as_ref().and_then(|s| s.running) == Some(true)
}

fn force_remove() -> RemoveContainerOptions {
    RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    }
}

/// The HTTP status the engine answered with, when it answered.
fn status(e: &EngineError) -> Option<u16> {
    match e {
        EngineError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

fn not_found_is_ok(e: EngineError) -> Result<(), EngineError> {
    if status(&e) == Some(404) {
        Ok(())
    } else {
        Err(e)
    }
}

/// An engine error with what was being done.
fn engine(context: impl Into<String>) -> impl FnOnce(EngineError) -> RuntimeError {
    let context = context.into();
    move |e| match e {
        EngineError::DockerResponseServerError {
            status_code,
            message,
        } => RuntimeError::Engine(format!("{context}: {message} (HTTP {status_code})")),
        e => RuntimeError::Engine(format!("{context}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_keep_the_engines_message_and_the_context() {
        let e = EngineError::DockerResponseServerError {
            status_code: 404,
            message: "No such image: nope:1".into(),
        };
        assert_eq!(status(&e), Some(404));
        let err = engine("creating gsp-server-1 from image nope:1")(e);
        assert!(matches!(&err, RuntimeError::Engine(_)));
        assert_eq!(
            err.to_string(),
            "the container engine: creating gsp-server-1 from image nope:1: \
             No such image: nope:1 (HTTP 404)"
        );
        let gone = EngineError::DockerResponseServerError {
            status_code: 404,
            message: String::new(),
        };
        assert!(not_found_is_ok(gone).is_ok());
        let busy = EngineError::DockerResponseServerError {
            status_code: 409,
            message: String::new(),
        };
        assert!(not_found_is_ok(busy).is_err());
    }
}
