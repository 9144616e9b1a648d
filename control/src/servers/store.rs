//! Templates and servers in the platform database.

use gsp_store::{Database, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;

pub use gsp_agent_api::{Game, Port};

/// How to run a game, and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Template {
    /// Id.
    pub id: i64,
    /// Unique name ("gsp-world").
    #[schema(example = "gsp-world")]
    pub name: String,
    /// "image" (a Docker image) or "command" (a child process).
    #[schema(example = "command")]
    pub runtime: String,
    /// The image, or the command line.
    pub launch: String,
    /// The ports it listens on.
    pub ports: Vec<Port>,
    /// CPU, thousandths of a core.
    pub cpu_millis: i64,
    /// Memory, MiB.
    pub memory_mib: i64,
    /// Price per running hour, milli-credits.
    pub price_per_hour: i64,
    /// Minutes without players before it hibernates.
    pub idle_minutes: i64,
    /// The same in seconds; what the platform acts on. Equal to
    /// `idle_minutes * 60` unless the template was made with
    /// `idle_seconds`.
    pub idle_seconds: i64,
    /// How its game is known ready, counted and stopped.
    pub game: Game,
}

/// A template to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewTemplate {
    /// Unique name.
    pub name: String,
    /// "image" or "command".
    pub runtime: String,
    /// The image, or the command line.
    pub launch: String,
    /// The ports it listens on.
    #[serde(default)]
    pub ports: Vec<Port>,
    /// CPU, thousandths of a core.
    pub cpu_millis: i64,
    /// Memory, MiB.
    pub memory_mib: i64,
    /// Price per running hour, milli-credits.
    pub price_per_hour: i64,
    /// Minutes without players before it hibernates (default 15).
    #[serde(default = "default_idle")]
    #[schema(default = 15)]
    pub idle_minutes: i64,
    /// Seconds without players before it hibernates, finer than
    /// `idle_minutes` (which it overrides when given).
    #[serde(default)]
    pub idle_seconds: Option<i64>,
    /// How its game is known ready, counted and stopped (default: a GSP
    /// world: `listening` lines, `/status`, SIGTERM).
    #[serde(default)]
    pub game: Game,
}

fn default_idle() -> i64 {
    15
}

/// Where a server is in its life, as recorded (billing reads these).
/// While running, the node's report says more: starting, stopping or
/// restarting (see `phase` in the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    /// Running (and billed).
    Running,
    /// Stopped with its data kept; the next connection wakes it.
    Hibernated,
    /// Its world kept failing and its node gave up restarting it; not
    /// billed, and not woken by players: its owner starts it again.
    Crashed,
    /// Gone.
    Deleted,
}

impl ServerState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Running => "running",
            ServerState::Hibernated => "hibernated",
            ServerState::Crashed => "crashed",
            ServerState::Deleted => "deleted",
        }
    }

    fn parse(s: &str) -> ServerState {
        match s {
            "running" => ServerState::Running,
            "deleted" => ServerState::Deleted,
            "crashed" => ServerState::Crashed,
            _ => ServerState::Hibernated,
        }
    }
}

/// One customer's server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Server {
    /// Id.
    pub id: i64,
    /// Whose it is.
    pub owner_id: i64,
    /// Its template.
    pub template_id: i64,
    /// The name its owner gave it.
    pub name: String,
    /// Its state.
    pub state: ServerState,
    /// When it was made, ms since the epoch.
    pub created_at: i64,
    /// Where players connect, by listener (`telnet`, `quic`): the public
    /// addresses of its wake proxy, once it has been placed on a node.
    pub endpoints: std::collections::BTreeMap<String, String>,
    /// How its world last exited on its own (a crash, or a clean exit
    /// nobody asked for), if it ever did.
    pub last_exit: Option<LastExit>,
}

/// How a server's world last exited on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LastExit {
    /// When, Unix ms.
    pub at_ms: i64,
    /// How it ended: `exit code 1`, `killed by signal 9`.
    #[schema(example = "killed by signal 9")]
    pub status: String,
    /// What its node did: `restarting`, `crashed` or `stopped`.
    #[schema(example = "crashed")]
    pub outcome: String,
    /// The last lines of its output, oldest first.
    pub last_lines: Vec<String>,
}

/// Why a templates or servers operation failed (messages fit for users).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad input; the text says what.
    #[error("{0}")]
    Invalid(String),
    /// No such template or server (or not the caller's).
    #[error("not found")]
    NotFound,
    /// A template with that name exists.
    #[error("a template with that name exists")]
    NameTaken,
    /// The change makes no sense in the server's state.
    #[error("the server is {0}")]
    WrongState(&'static str),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Templates and servers of one platform database.
#[derive(Debug, Clone)]
pub struct Servers {
    db: Database,
}

type TemplateRow = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);
type ServerRow = (i64, i64, i64, String, String, i64, String, Option<String>);

fn template_of(r: TemplateRow) -> Template {
    Template {
        id: r.0,
        name: r.1,
        runtime: r.2,
        launch: r.3,
        ports: serde_json::from_str(&r.4).unwrap_or_default(),
        cpu_millis: r.5,
        memory_mib: r.6,
        price_per_hour: r.7,
        idle_minutes: r.8,
        idle_seconds: r.9.unwrap_or(r.8.saturating_mul(60)),
        game: r
            .10
            .and_then(|g| serde_json::from_str(&g).ok())
            .unwrap_or_default(),
    }
}

fn server_of(r: ServerRow) -> Server {
    Server {
        id: r.0,
        owner_id: r.1,
        template_id: r.2,
        name: r.3,
        state: ServerState::parse(&r.4),
        created_at: r.5,
        endpoints: serde_json::from_str(&r.6).unwrap_or_default(),
        last_exit: r.7.and_then(|c| serde_json::from_str(&c).ok()),
    }
}

fn check_name(name: &str, what: &str) -> Result<String, ServerError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ServerError::Invalid(format!(
            "a {what} name is 1 to 64 printable characters"
        )));
    }
    Ok(name.to_owned())
}

impl Servers {
    /// Templates and servers in `db`.
    pub fn new(db: Database) -> Servers {
        Servers { db }
    }

    /// Adds a template (admins).
    pub async fn create_template(&self, t: &NewTemplate) -> Result<Template, ServerError> {
        let name = check_name(&t.name, "template")?;
        if !matches!(t.runtime.as_str(), "image" | "command") {
            return Err(ServerError::Invalid(
                "runtime is \"image\" or \"command\"".into(),
            ));
        }
        if t.launch.trim().is_empty() {
            return Err(ServerError::Invalid(
                "launch names the image or the command".into(),
            ));
        }
        if let Some(e) = t.ports.iter().find_map(|p| p.check().err()) {
            return Err(ServerError::Invalid(e.to_string()));
        }
        let names: Vec<&str> = t.ports.iter().map(|p| p.name.as_str()).collect();
        if names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n))
        {
            return Err(ServerError::Invalid("port names are unique".into()));
        }
        t.game.check(&names).map_err(ServerError::Invalid)?;
        if let gsp_agent_api::Ready::LogLine { regex } = &t.game.ready {
            regex::Regex::new(regex)
                .map_err(|e| ServerError::Invalid(format!("the log line regex: {e}")))?;
        }
        if t.cpu_millis <= 0
            || t.memory_mib <= 0
            || t.price_per_hour < 0
            || t.idle_minutes <= 0
            || t.idle_seconds.is_some_and(|s| s <= 0)
        {
            return Err(ServerError::Invalid(
                "cpu, memory and idle minutes are positive; the price is not negative".into(),
            ));
        }
        let ports = serde_json::to_string(&t.ports)
            .map_err(|e| ServerError::Invalid(format!("ports: {e}")))?;
        let game = serde_json::to_string(&t.game)
            .map_err(|e| ServerError::Invalid(format!("game: {e}")))?;
        let mut tx = self.db.begin_write().await?;
        let id = crate::db::next_id(&mut tx, "templates").await?;
        let inserted = sqlx::query(
            "INSERT INTO templates (id, name, runtime, launch, ports, cpu_millis, memory_mib, \
             price_per_hour, idle_minutes, idle_seconds, created_at, game) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        )
        .bind(id)
        .bind(name.clone())
        .bind(t.runtime.clone())
        .bind(t.launch.trim().to_owned())
        .bind(ports)
        .bind(t.cpu_millis)
        .bind(t.memory_mib)
        .bind(t.price_per_hour)
        .bind(t.idle_minutes)
        .bind(t.idle_seconds)
        .bind(crate::auth::now_ms())
        .bind(game)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("creating a template"));
        match inserted {
            Err(e) if e.is_unique_violation() => return Err(ServerError::NameTaken),
            other => {
                other?;
            }
        }
        tx.commit().await?;
        self.template(id).await?.ok_or(ServerError::NotFound)
    }

    /// Every template, by name.
    pub async fn templates(&self) -> Result<Vec<Template>, ServerError> {
        let rows: Vec<TemplateRow> = sqlx::query_as(
            "SELECT id, name, runtime, launch, ports, cpu_millis, memory_mib, price_per_hour, \
             idle_minutes, idle_seconds, game FROM templates ORDER BY name",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::query("listing templates"))?;
        Ok(rows.into_iter().map(template_of).collect())
    }

    /// One template.
    pub async fn template(&self, id: i64) -> Result<Option<Template>, ServerError> {
        let row: Option<TemplateRow> = sqlx::query_as(
            "SELECT id, name, runtime, launch, ports, cpu_millis, memory_mib, price_per_hour, \
             idle_minutes, idle_seconds, game FROM templates WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::query("reading a template"))?;
        Ok(row.map(template_of))
    }

    /// Makes a server of `template_id` for `owner_id`, running.
    pub async fn create(
        &self,
        owner_id: i64,
        template_id: i64,
        name: &str,
    ) -> Result<Server, ServerError> {
        let name = check_name(name, "server")?;
        if self.template(template_id).await?.is_none() {
            return Err(ServerError::Invalid(format!(
                "there is no template {template_id}"
            )));
        }
        let now = crate::auth::now_ms();
        let mut tx = self.db.begin_write().await?;
        let id = crate::db::next_id(&mut tx, "servers").await?;
        sqlx::query(
            "INSERT INTO servers (id, owner_id, template_id, name, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(owner_id)
        .bind(template_id)
        .bind(name)
        .bind(ServerState::Running.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("creating a server"))?;
        record(
            &mut tx,
            id,
            ServerState::Running,
            now,
            &format!("user:{owner_id}"),
        )
        .await?;
        tx.commit().await?;
        self.get_any(id).await?.ok_or(ServerError::NotFound)
    }

    /// Server `id` whoever owns it (the lifecycle's own reads).
    pub async fn get_any(&self, id: i64) -> Result<Option<Server>, ServerError> {
        let row: Option<ServerRow> = sqlx::query_as(
            "SELECT s.id, s.owner_id, s.template_id, s.name, s.state, s.created_at, \
             COALESCE(p.endpoints, '{}'), s.crash FROM servers s LEFT JOIN placements p ON p.server_id = s.id \
             WHERE s.id = $1 AND s.state <> 'deleted'",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::query("reading a server"))?;
        Ok(row.map(server_of))
    }

    /// Server `id` if the caller may see it: its owner, or an admin.
    /// Anyone else gets `None`, as if it did not exist.
    pub async fn get(
        &self,
        caller: i64,
        role: Role,
        id: i64,
    ) -> Result<Option<Server>, ServerError> {
        Ok(self
            .get_any(id)
            .await?
            .filter(|s| role == Role::Admin || s.owner_id == caller))
    }

    /// The servers the caller may see (an admin: all), newest first.
    pub async fn list(&self, caller: i64, role: Role) -> Result<Vec<Server>, ServerError> {
        let rows: Vec<ServerRow> = sqlx::query_as(
            "SELECT s.id, s.owner_id, s.template_id, s.name, s.state, s.created_at, \
             COALESCE(p.endpoints, '{}'), s.crash FROM servers s LEFT JOIN placements p ON p.server_id = s.id \
             WHERE s.state <> 'deleted' AND (s.owner_id = $1 OR $2 = 1) ORDER BY s.id DESC",
        )
        .bind(caller)
        .bind(i64::from(role == Role::Admin))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::query("listing servers"))?;
        Ok(rows.into_iter().map(server_of).collect())
    }

    /// Every running server, of every owner, oldest first (for billing).
    pub async fn running(&self) -> Result<Vec<Server>, ServerError> {
        let rows: Vec<ServerRow> = sqlx::query_as(
            "SELECT s.id, s.owner_id, s.template_id, s.name, s.state, s.created_at, \
             COALESCE(p.endpoints, '{}'), s.crash FROM servers s LEFT JOIN placements p ON p.server_id = s.id \
             WHERE s.state = 'running' ORDER BY s.id",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::query("listing running servers"))?;
        Ok(rows.into_iter().map(server_of).collect())
    }

    /// Moves server `id` to `to` at `at` (ms), recording `cause`. Waking a
    /// running server or hibernating a hibernated one is `WrongState`;
    /// nothing leaves `Deleted`.
    pub async fn transition(
        &self,
        id: i64,
        to: ServerState,
        at: i64,
        cause: &str,
    ) -> Result<Server, ServerError> {
        let server = self.get_any(id).await?.ok_or(ServerError::NotFound)?;
        if server.state == to {
            return Err(ServerError::WrongState(to.as_str()));
        }
        let mut tx = self.db.begin_write().await?;
        let moved = sqlx::query(
            "UPDATE servers SET state = $1, deleted_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(to.as_str())
        .bind((to == ServerState::Deleted).then_some(at))
        .bind(id)
        .bind(server.state.as_str())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("changing a server's state"))?;
        if moved.rows_affected() != 1 {
            // Someone else moved it first.
            return Err(ServerError::WrongState(server.state.as_str()));
        }
        record(&mut tx, id, to, at, cause).await?;
        tx.commit().await?;
        Ok(Server {
            state: to,
            ..server
        })
    }

    /// Records how server `id`'s world last exited on its own.
    pub async fn record_exit(&self, id: i64, exit: &LastExit) -> Result<(), ServerError> {
        let json = serde_json::to_string(exit)
            .map_err(|e| ServerError::Invalid(format!("an exit: {e}")))?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE servers SET crash = $1 WHERE id = $2")
            .bind(json)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("recording an exit"))?;
        tx.commit().await?;
        Ok(())
    }

    /// When server `id` last changed state, ms (0 if never).
    pub async fn last_change(&self, id: i64) -> Result<i64, ServerError> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT MAX(at) FROM server_events WHERE server_id = $1")
                .bind(id)
                .fetch_one(self.db.pool())
                .await
                .map_err(StoreError::query("reading a server's last change"))?;
        Ok(at.unwrap_or(0))
    }

    /// The state changes of server `id`, oldest first: (state, at ms, cause).
    pub async fn history(&self, id: i64) -> Result<Vec<(ServerState, i64, String)>, ServerError> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT state, at, cause FROM server_events WHERE server_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::query("reading a server's history"))?;
        Ok(rows
            .into_iter()
            .map(|(s, at, cause)| (ServerState::parse(&s), at, cause))
            .collect())
    }
}

async fn record(
    tx: &mut gsp_store::WriteTx,
    id: i64,
    state: ServerState,
    at: i64,
    cause: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO server_events (server_id, seq, state, at, cause) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM server_events WHERE server_id = $1",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(at)
    .bind(cause.to_owned())
    .execute(&mut **tx)
    .await
    .map_err(StoreError::query("recording a state change"))?;
    Ok(())
}
