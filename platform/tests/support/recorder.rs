//! An in-process [`Agent`] for tests: records every call, and fails them
//! all while `broken` is set. It stands in for the node agents.
#![allow(dead_code)]

use std::sync::Mutex;

use gsp_platform::servers::agent::{Agent, AgentError, BoxFuture, Node, Stats};
use gsp_platform::servers::{Server, Template};

/// Records calls; fails them all while `broken` is set.
#[derive(Default)]
pub struct Recorder {
    pub calls: Mutex<Vec<String>>,
    pub broken: Mutex<bool>,
}

impl Recorder {
    fn note(&self, call: String) -> Result<(), AgentError> {
        if *self.broken.lock().unwrap() {
            return Err(AgentError::Node("node unreachable".into()));
        }
        self.calls.lock().unwrap().push(call);
        Ok(())
    }
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Agent for Recorder {
    fn start<'a>(
        &'a self,
        s: &'a Server,
        t: &'a Template,
    ) -> BoxFuture<'a, Result<(), AgentError>> {
        Box::pin(async move { self.note(format!("start {} {}", s.id, t.name)) })
    }
    fn stop(&self, id: i64) -> BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(async move { self.note(format!("stop {id}")) })
    }
    fn remove(&self, id: i64) -> BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(async move { self.note(format!("remove {id}")) })
    }
    fn logs(&self, id: i64, _lines: usize) -> BoxFuture<'_, Result<Vec<String>, AgentError>> {
        Box::pin(async move {
            self.note(format!("logs {id}"))?;
            Ok(vec![format!("server {id} says hello")])
        })
    }
    fn stats(&self, id: i64) -> BoxFuture<'_, Result<Stats, AgentError>> {
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
    fn backup(&self, id: i64) -> BoxFuture<'_, Result<Vec<u8>, AgentError>> {
        Box::pin(async move {
            self.note(format!("backup {id}"))?;
            Ok(format!("data of server {id}").into_bytes())
        })
    }
    fn restore(&self, id: i64, archive: Vec<u8>) -> BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(async move {
            self.note(format!(
                "restore {id} {}",
                String::from_utf8_lossy(&archive)
            ))
        })
    }
    fn nodes(&self) -> BoxFuture<'_, Result<Vec<Node>, AgentError>> {
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
