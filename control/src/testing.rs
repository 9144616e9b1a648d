//! Test support for the control plane and its HTTP faces (feature
//! `testing`, for dev-dependencies only): an in-process [`Recorder`]
//! orchestrator that stands in for the node agents, and the
//! [`command_template`] tests run servers from.

use std::sync::Mutex;

use crate::servers::orchestrator::{BoxFuture, Node, Orchestrator, OrchestratorError, Stats};
use crate::servers::{NewTemplate, Server, Template};

/// An in-process [`Orchestrator`] for tests: records every call, and
/// fails them all while `broken` is set.
#[derive(Default)]
pub struct Recorder {
    /// Every call, in order (`start 1 gsp-world`, `stop 1`...).
    pub calls: Mutex<Vec<String>>,
    /// While set, every call fails as an unreachable node would.
    pub broken: Mutex<bool>,
    /// While set, no node has room for a new server.
    pub full: Mutex<bool>,
}

impl Recorder {
    fn note(&self, call: String) -> Result<(), OrchestratorError> {
        if *self.broken.lock().unwrap() {
            return Err(OrchestratorError::Node("node unreachable".into()));
        }
        self.calls.lock().unwrap().push(call);
        Ok(())
    }
    /// The calls so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Orchestrator for Recorder {
    fn start<'a>(
        &'a self,
        s: &'a Server,
        t: &'a Template,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move { self.note(format!("start {} {}", s.id, t.name)) })
    }
    fn has_room<'a>(&'a self, _: &'a Template) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            if *self.full.lock().unwrap() {
                return Err(OrchestratorError::NoCapacity);
            }
            Ok(())
        })
    }
    fn stop(&self, id: i64) -> BoxFuture<'_, Result<(), OrchestratorError>> {
        Box::pin(async move { self.note(format!("stop {id}")) })
    }
    fn remove(&self, id: i64) -> BoxFuture<'_, Result<(), OrchestratorError>> {
        Box::pin(async move { self.note(format!("remove {id}")) })
    }
    fn logs(
        &self,
        id: i64,
        _lines: usize,
    ) -> BoxFuture<'_, Result<Vec<String>, OrchestratorError>> {
        Box::pin(async move {
            self.note(format!("logs {id}"))?;
            Ok(vec![format!("server {id} says hello")])
        })
    }
    fn console<'a>(
        &'a self,
        id: i64,
        line: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move { self.note(format!("console {id} {line}")) })
    }
    fn stats(&self, id: i64) -> BoxFuture<'_, Result<Stats, OrchestratorError>> {
        Box::pin(async move {
            self.note(format!("stats {id}"))?;
            Ok(Stats {
                running: true,
                cpu_percent: 12.5,
                memory_mib: 180.0,
                players: 2,
            })
        })
    }
    fn backup(&self, id: i64) -> BoxFuture<'_, Result<Vec<u8>, OrchestratorError>> {
        Box::pin(async move {
            self.note(format!("backup {id}"))?;
            Ok(format!("data of server {id}").into_bytes())
        })
    }
    fn restore(&self, id: i64, archive: Vec<u8>) -> BoxFuture<'_, Result<(), OrchestratorError>> {
        Box::pin(async move {
            self.note(format!(
                "restore {id} {}",
                String::from_utf8_lossy(&archive)
            ))
        })
    }
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<Node>, OrchestratorError>> {
        Box::pin(async {
            Ok(vec![Node {
                name: "local".into(),
                address: "127.0.0.1:7070".into(),
                runtime: "process".into(),
                servers: 1,
                cpu_total_millis: 2000,
                cpu_free_millis: 1000,
                memory_total_mib: 4096,
                memory_free_mib: 3840,
                last_seen_ms: 0,
            }])
        })
    }
}

/// What an hour of [`command_template`] costs, milli-credits.
pub const PRICE_PER_HOUR: i64 = 1_500;

/// A `gsp world` child-process template named `name`: one core, 256 MiB,
/// [`PRICE_PER_HOUR`], hibernating after 15 idle minutes.
pub fn command_template(name: &str) -> NewTemplate {
    NewTemplate {
        name: name.into(),
        runtime: "command".into(),
        launch: "gsp world".into(),
        ports: vec![],
        cpu_millis: 1000,
        memory_mib: 256,
        price_per_hour: PRICE_PER_HOUR,
        idle_minutes: 15,
        idle_seconds: None,
        game: Default::default(),
    }
}
