//! The control plane's side of its nodes: [`Fleet`], the registry of the
//! nodes (machines whose agent runs servers) with their tokens,
//! registrations, heartbeats and the servers placed on them; and
//! [`FleetOrchestrator`], the [`Orchestrator`](crate::servers::orchestrator::Orchestrator)
//! that places servers on those nodes and drives their agents over HTTP.
//!
//! A node exists once an admin makes it (`gsp platform node create`, or
//! `POST /api/admin/nodes`), which gives its token once; the platform keeps
//! only the token's SHA-256 and finds a caller's node by comparing digests
//! in constant time. The agent registers with that token, saying where it
//! listens and which token the platform must show it in turn.
//!
//! Placement: a server is placed the first time it starts, on the node
//! that runs its template's kind (`command` → process, `image` → docker),
//! was heard from in the last [`STALE_AFTER`], has a free public port, and
//! has the most memory left once the servers running there are counted.
//! It stays on that node (its data is there) until it is deleted.

mod orchestrator;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gsp_agent_api::{
    same_secret, Assignment, Heartbeat, Registered, Registration, ServerReport, NODE_TOKEN_PREFIX,
};
use gsp_store::{token, Database, StoreError};

use crate::auth::now_ms;
use crate::servers::orchestrator::Node;
use crate::servers::{Server, Template};

pub use orchestrator::{spec_of, FleetOrchestrator};

/// A node not heard from for this long gets no new servers.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// Why a node registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Bad input; the text says what.
    #[error("{0}")]
    Invalid(String),
    /// A node with that name exists.
    #[error("a node with that name exists")]
    NameTaken,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Making a token failed (the OS gave no randomness).
    #[error("making a token: {0}")]
    Random(#[from] getrandom::Error),
}

/// A node as the registry keeps it.
#[derive(Debug, Clone)]
pub(crate) struct NodeRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) address: String,
    pub(crate) callback_token: String,
    pub(crate) runtime: String,
    pub(crate) cpu_total_millis: i64,
    pub(crate) memory_total_mib: i64,
    pub(crate) free_ports: i64,
    pub(crate) last_seen_ms: i64,
}

type Row = (i64, String, String, String, String, i64, i64, i64, i64);

fn node_of(r: Row) -> NodeRow {
    NodeRow {
        id: r.0,
        name: r.1,
        address: r.2,
        callback_token: r.3,
        runtime: r.4,
        cpu_total_millis: r.5,
        memory_total_mib: r.6,
        free_ports: r.7,
        last_seen_ms: r.8,
    }
}

/// The nodes and the placements of servers on them. Cheap to clone:
/// clones share the database and the last reports.
#[derive(Clone)]
pub struct Fleet {
    db: Database,
    /// The last report of each server, from its node's heartbeats.
    reports: Arc<Mutex<HashMap<i64, ServerReport>>>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet").finish_non_exhaustive()
    }
}

/// A node the caller authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
}

impl Fleet {
    /// The fleet recorded in `db`.
    pub fn new(db: Database) -> Fleet {
        Fleet {
            db,
            reports: Arc::default(),
        }
    }

    /// Makes node `name` and returns its token, which is shown only now.
    pub async fn create_node(&self, name: &str) -> Result<(NodeId, String), FleetError> {
        let name = name.trim();
        let ok = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            return Err(FleetError::Invalid(
                "a node name is 1 to 64 letters, digits, '-', '_' or '.'".into(),
            ));
        }
        let secret = token::generate_with(NODE_TOKEN_PREFIX)?;
        let mut tx = self.db.begin_write().await?;
        let id = crate::db::next_id(&mut tx, "nodes").await?;
        let inserted = sqlx::query(
            "INSERT INTO nodes (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(name.to_owned())
        .bind(token::digest(&secret))
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("creating a node"));
        match inserted {
            Err(e) if e.is_unique_violation() => return Err(FleetError::NameTaken),
            other => {
                other?;
            }
        }
        tx.commit().await?;
        tracing::info!(node = name, "node created");
        Ok((
            NodeId {
                id,
                name: name.to_owned(),
            },
            secret,
        ))
    }

    /// A new token for node `name`, made if it does not exist; a token it
    /// had stops working. (`gsp up` gives its local agent a fresh token
    /// at every start.)
    pub async fn issue_token(&self, name: &str) -> Result<(NodeId, String), FleetError> {
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM nodes WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(self.db.pool())
            .await
            .map_err(StoreError::query("finding a node"))?;
        let Some(id) = existing else {
            return self.create_node(name).await;
        };
        let secret = token::generate_with(NODE_TOKEN_PREFIX)?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE nodes SET token_hash = $1 WHERE id = $2")
            .bind(token::digest(&secret))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("renewing a node token"))?;
        tx.commit().await?;
        Ok((
            NodeId {
                id,
                name: name.to_owned(),
            },
            secret,
        ))
    }

    /// Server `id`'s public addresses, as a node reported them.
    pub async fn endpoints(
        &self,
        server_id: i64,
    ) -> Result<BTreeMap<String, SocketAddr>, FleetError> {
        let row: Option<String> =
            sqlx::query_scalar("SELECT endpoints FROM placements WHERE server_id = $1")
                .bind(server_id)
                .fetch_optional(self.db.pool())
                .await
                .map_err(StoreError::query("reading endpoints"))?;
        Ok(row
            .and_then(|e| serde_json::from_str(&e).ok())
            .unwrap_or_default())
    }

    /// The node whose token `shown` is, compared in constant time with
    /// every node's.
    pub async fn authenticate(&self, shown: &str) -> Result<Option<NodeId>, FleetError> {
        if !shown.starts_with(NODE_TOKEN_PREFIX) {
            return Ok(None);
        }
        let digest = token::digest(shown);
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, token_hash FROM nodes")
                .fetch_all(self.db.pool())
                .await
                .map_err(StoreError::query("reading node tokens"))?;
        let mut found = None;
        for (id, name, hash) in rows {
            // No early exit: every node's digest is compared.
            if same_secret(&digest, &hash) {
                found = Some(NodeId { id, name });
            }
        }
        Ok(found)
    }

    /// Records a node's registration; answers with the servers placed on
    /// it. Servers recorded running there are not running any more (the
    /// agent starts empty), which the caller records.
    pub async fn register(
        &self,
        node: &NodeId,
        r: &Registration,
        templates: &HashMap<i64, Template>,
    ) -> Result<Registered, FleetError> {
        if !(r.address.starts_with("http://") || r.address.starts_with("https://")) {
            return Err(FleetError::Invalid(
                "address is the agent's http:// URL".into(),
            ));
        }
        if !matches!(r.runtime.as_str(), "process" | "docker") {
            return Err(FleetError::Invalid(
                "runtime is \"process\" or \"docker\"".into(),
            ));
        }
        if r.callback_token.len() < 16 {
            return Err(FleetError::Invalid(
                "the callback token is too short".into(),
            ));
        }
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE nodes SET address = $1, node_token = $2, runtime = $3, cpu_total_millis = $4, \
             memory_total_mib = $5, last_seen_ms = $6, free_ports = $7 WHERE id = $8",
        )
        .bind(r.address.trim_end_matches('/').to_owned())
        .bind(r.callback_token.clone())
        .bind(r.runtime.clone())
        .bind(r.cpu_total_millis.max(0))
        .bind(r.memory_total_mib.max(0))
        .bind(now_ms())
        .bind(i64::from(r.free_ports))
        .bind(node.id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("registering a node"))?;
        tx.commit().await?;
        let placed = self.placed_on(node.id).await?;
        let servers = placed
            .into_iter()
            .filter_map(|(server, template_id, endpoints)| {
                let t = templates.get(&template_id)?;
                Some(Assignment {
                    id: server,
                    spec: spec_of(t),
                    endpoints,
                })
            })
            .collect();
        tracing::info!(node = %node.name, address = %r.address, runtime = %r.runtime, "node registered");
        Ok(Registered {
            name: node.name.clone(),
            servers,
        })
    }

    /// The servers placed on node `id`: (server, template, endpoints).
    async fn placed_on(
        &self,
        node_id: i64,
    ) -> Result<Vec<(i64, i64, BTreeMap<String, SocketAddr>)>, StoreError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT p.server_id, s.template_id, p.endpoints FROM placements p \
             JOIN servers s ON s.id = p.server_id WHERE p.node_id = $1 AND s.state <> 'deleted' \
             ORDER BY p.server_id",
        )
        .bind(node_id)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::query("reading placements"))?;
        Ok(rows
            .into_iter()
            .map(|(s, t, e)| (s, t, serde_json::from_str(&e).unwrap_or_default()))
            .collect())
    }

    /// The servers placed on node `id`.
    pub async fn servers_on(&self, node_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(self
            .placed_on(node_id)
            .await?
            .into_iter()
            .map(|p| p.0)
            .collect())
    }

    /// Records a heartbeat: the node is alive, and each server's report is
    /// kept (only for servers placed on that node).
    pub async fn heartbeat(
        &self,
        node: &NodeId,
        beat: &Heartbeat,
    ) -> Result<Vec<ServerReport>, FleetError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE nodes SET free_ports = $1, last_seen_ms = $2 WHERE id = $3")
            .bind(i64::from(beat.free_ports))
            .bind(now_ms())
            .bind(node.id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("recording a heartbeat"))?;
        tx.commit().await?;
        let placed = self.placed_on(node.id).await?;
        let reports: Vec<ServerReport> = beat
            .servers
            .iter()
            .filter(|r| placed.iter().any(|p| p.0 == r.id))
            .cloned()
            .collect();
        // Proxies that had to move (their port was taken at a restart).
        for r in &reports {
            let known = placed.iter().find(|p| p.0 == r.id).map(|p| &p.2);
            if !r.endpoints.is_empty() && known != Some(&r.endpoints) {
                self.save_endpoints(r.id, &r.endpoints).await?;
            }
        }
        let mut all = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        for r in &reports {
            all.insert(r.id, r.clone());
        }
        Ok(reports)
    }

    /// The last report of server `id`.
    pub fn report(&self, id: i64) -> Option<ServerReport> {
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    pub(crate) async fn nodes_all(&self) -> Result<Vec<NodeRow>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, name, address, node_token, runtime, cpu_total_millis, memory_total_mib, \
             free_ports, last_seen_ms FROM nodes ORDER BY name",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::query("listing nodes"))?;
        Ok(rows.into_iter().map(node_of).collect())
    }

    /// The node server `id` is placed on.
    pub(crate) async fn placement(&self, server_id: i64) -> Result<Option<NodeRow>, StoreError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT n.id, n.name, n.address, n.node_token, n.runtime, n.cpu_total_millis, \
             n.memory_total_mib, n.free_ports, n.last_seen_ms FROM nodes n \
             JOIN placements p ON p.node_id = n.id WHERE p.server_id = $1",
        )
        .bind(server_id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::query("reading a placement"))?;
        Ok(row.map(node_of))
    }

    /// Reservations of the servers running on each node: (cpu, memory).
    pub(crate) async fn reserved(&self) -> Result<HashMap<i64, (i64, i64)>, StoreError> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT p.node_id, CAST(SUM(t.cpu_millis) AS BIGINT), CAST(SUM(t.memory_mib) AS BIGINT) \
             FROM placements p \
             JOIN servers s ON s.id = p.server_id JOIN templates t ON t.id = s.template_id \
             WHERE s.state = 'running' GROUP BY p.node_id",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::query("summing reservations"))?;
        Ok(rows.into_iter().map(|(n, c, m)| (n, (c, m))).collect())
    }

    /// The node with the most memory left that can take a server of
    /// `template`, if any.
    pub(crate) async fn choose(&self, template: &Template) -> Result<Option<NodeRow>, StoreError> {
        let wanted = if template.runtime == "image" {
            "docker"
        } else {
            "process"
        };
        let nodes = self.nodes_all().await?;
        let reserved = self.reserved().await?;
        let fresh = now_ms() - STALE_AFTER.as_millis() as i64;
        Ok(nodes
            .into_iter()
            .filter(|n| n.runtime == wanted && n.last_seen_ms >= fresh && !n.address.is_empty())
            .filter(|n| n.free_ports > 0)
            .filter_map(|n| {
                let (cpu, mem) = reserved.get(&n.id).copied().unwrap_or_default();
                let free_cpu = n.cpu_total_millis - cpu;
                let free_mem = n.memory_total_mib - mem;
                (free_cpu >= template.cpu_millis && free_mem >= template.memory_mib)
                    .then_some((free_mem, n))
            })
            .max_by_key(|(free, _)| *free)
            .map(|(_, n)| n))
    }

    /// Records server `server` placed on node `node`.
    pub(crate) async fn place(&self, server: &Server, node: &NodeRow) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("INSERT INTO placements (server_id, node_id) VALUES ($1, $2)")
            .bind(server.id)
            .bind(node.id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("placing a server"))?;
        tx.commit().await?;
        tracing::info!(server = server.id, node = %node.name, "server placed");
        Ok(())
    }

    /// Records server `server_id`'s public addresses, as its node reported them.
    pub(crate) async fn save_endpoints(
        &self,
        server_id: i64,
        endpoints: &BTreeMap<String, SocketAddr>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(endpoints).unwrap_or_else(|_| "{}".into());
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE placements SET endpoints = $1 WHERE server_id = $2")
            .bind(json)
            .bind(server_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("recording endpoints"))?;
        tx.commit().await
    }

    /// Every node, with what its servers reserve, for the admin pages.
    pub async fn nodes(&self) -> Result<Vec<Node>, StoreError> {
        let nodes = self.nodes_all().await?;
        let reserved = self.reserved().await?;
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            let (cpu, mem) = reserved.get(&n.id).copied().unwrap_or_default();
            let servers = self.servers_on(n.id).await?;
            out.push(Node {
                name: n.name,
                address: n.address,
                runtime: n.runtime,
                servers: servers.len() as u32,
                cpu_total_millis: n.cpu_total_millis,
                cpu_free_millis: n.cpu_total_millis - cpu,
                memory_total_mib: n.memory_total_mib,
                memory_free_mib: n.memory_total_mib - mem,
                last_seen_ms: n.last_seen_ms,
            });
        }
        Ok(out)
    }
}
