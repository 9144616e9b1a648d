//! [`FleetOrchestrator`]: servers started, stopped and watched on the
//! fleet's nodes, by calling each node's agent (`gsp agent`) over HTTP
//! with [`AgentClient`].
//!
//! Placement: a server is placed the first time it starts, on the node the
//! [`Fleet`] chooses (its template's kind, heard from lately, a free public
//! port, the most memory left); it stays there until it is deleted.

use gsp_agent_api::{AgentCallError, AgentClient, StartRequest};

use super::{Fleet, NodeRow};
use crate::servers::orchestrator::{BoxFuture, Node, Orchestrator, OrchestratorError, Stats};
use crate::servers::{Server, Template};

/// The [`Orchestrator`] over a [`Fleet`]'s nodes.
#[derive(Clone)]
pub struct FleetOrchestrator {
    fleet: Fleet,
    http: reqwest::Client,
}

impl std::fmt::Debug for FleetOrchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetOrchestrator").finish_non_exhaustive()
    }
}

impl FleetOrchestrator {
    /// Drives the agents of `fleet`'s nodes.
    pub fn new(fleet: Fleet) -> FleetOrchestrator {
        FleetOrchestrator {
            fleet,
            http: gsp_agent_api::http_client(),
        }
    }

    /// The node server `server_id` is placed on.
    async fn node_for(&self, server_id: i64) -> Result<NodeRow, OrchestratorError> {
        self.fleet
            .placement(server_id)
            .await?
            .ok_or(OrchestratorError::Unknown)
    }

    /// The client for the agent of `node`.
    fn client(&self, node: &NodeRow) -> AgentClient {
        AgentClient::new(self.http.clone(), &node.address, &node.callback_token)
    }
}

/// An agent call's failure, as the platform's callers branch on it.
fn failed(node: &NodeRow, e: AgentCallError) -> OrchestratorError {
    match e {
        AgentCallError::UnknownServer(_) => OrchestratorError::Unknown,
        AgentCallError::NoFreePort(_) => OrchestratorError::NoCapacity,
        source => OrchestratorError::Agent {
            node: node.name.clone(),
            source,
        },
    }
}

/// What an agent needs to run a server of `t`.
pub fn spec_of(t: &Template) -> StartRequest {
    StartRequest {
        runtime: t.runtime.clone(),
        launch: t.launch.clone(),
        ports: t.ports.clone(),
        cpu_millis: t.cpu_millis,
        memory_mib: t.memory_mib,
        game: t.game.clone(),
    }
}

impl Orchestrator for FleetOrchestrator {
    fn start<'a>(
        &'a self,
        server: &'a Server,
        template: &'a Template,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            let node = match self.fleet.placement(server.id).await? {
                Some(node) => node,
                None => {
                    let node = self
                        .fleet
                        .choose(template)
                        .await?
                        .ok_or(OrchestratorError::NoCapacity)?;
                    self.fleet.place(server, &node).await?;
                    node
                }
            };
            let started = self
                .client(&node)
                .start(server.id, &spec_of(template))
                .await
                .map_err(|e| failed(&node, e))?;
            Ok(self
                .fleet
                .save_endpoints(server.id, &started.endpoints)
                .await?)
        })
    }

    fn has_room<'a>(
        &'a self,
        template: &'a Template,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            self.fleet
                .choose(template)
                .await?
                .map(|_| ())
                .ok_or(OrchestratorError::NoCapacity)
        })
    }

    fn console<'a>(
        &'a self,
        server_id: i64,
        line: &'a str,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            let node = self.node_for(server_id).await?;
            self.client(&node)
                .console(server_id, line)
                .await
                .map_err(|e| failed(&node, e))
        })
    }

    fn stop(&self, server_id: i64) -> BoxFuture<'_, Result<(), OrchestratorError>> {
        Box::pin(async move {
            let node = self.node_for(server_id).await?;
            self.client(&node)
                .stop(server_id)
                .await
                .map_err(|e| failed(&node, e))
        })
    }

    fn remove(&self, server_id: i64) -> BoxFuture<'_, Result<(), OrchestratorError>> {
        Box::pin(async move {
            let node = match self.node_for(server_id).await {
                Ok(node) => node,
                // Never placed: nothing to remove.
                Err(OrchestratorError::Unknown) => return Ok(()),
                Err(e) => return Err(e),
            };
            self.client(&node)
                .remove(server_id)
                .await
                .map_err(|e| failed(&node, e))
        })
    }

    fn logs(
        &self,
        server_id: i64,
        lines: usize,
    ) -> BoxFuture<'_, Result<Vec<String>, OrchestratorError>> {
        Box::pin(async move {
            let node = match self.node_for(server_id).await {
                Ok(node) => node,
                Err(OrchestratorError::Unknown) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            self.client(&node)
                .logs(server_id, lines)
                .await
                .map_err(|e| failed(&node, e))
        })
    }

    fn stats(&self, server_id: i64) -> BoxFuture<'_, Result<Stats, OrchestratorError>> {
        Box::pin(async move {
            let node = match self.node_for(server_id).await {
                Ok(node) => node,
                Err(OrchestratorError::Unknown) => return Ok(Stats::default()),
                Err(e) => return Err(e),
            };
            self.client(&node)
                .stats(server_id)
                .await
                .map_err(|e| failed(&node, e))
        })
    }

    fn backup(&self, server_id: i64) -> BoxFuture<'_, Result<Vec<u8>, OrchestratorError>> {
        Box::pin(async move {
            let node = self.node_for(server_id).await?;
            self.client(&node)
                .backup(server_id)
                .await
                .map_err(|e| failed(&node, e))
        })
    }

    fn restore(
        &self,
        server_id: i64,
        archive: Vec<u8>,
    ) -> BoxFuture<'_, Result<(), OrchestratorError>> {
        Box::pin(async move {
            let node = self.node_for(server_id).await?;
            self.client(&node)
                .restore(server_id, archive)
                .await
                .map_err(|e| failed(&node, e))
        })
    }

    fn nodes(&self) -> BoxFuture<'_, Result<Vec<Node>, OrchestratorError>> {
        Box::pin(async move { Ok(self.fleet.nodes().await?) })
    }
}
