//! The database: one connection pool, SQLite or PostgreSQL behind one code
//! path.
//!
//! All stores speak sqlx's `Any` driver with `$1`-style placeholders and SQL
//! that both backends accept, so a query is written once.
//! [`Database::connect_with`] takes a URL (`sqlite://PATH` or
//! `postgres://...`) and the caller's migrations (each crate with tables
//! embeds its own: the world's stores in `persistence/migrations/`, the
//! platform's in `control/migrations/`) and applies them before returning;
//! [`Database::open_file_with`] opens a SQLite file in a data directory.
//!
//! # SQLite settings, and why
//!
//! - `journal_mode = WAL`: readers never block the writer nor the writer
//!   readers, and a commit appends to the log instead of rewriting pages.
//! - `synchronous = FULL`: every commit syncs the log to disk before it is
//!   reported done. With the WAL default (`NORMAL`) a power cut can undo the
//!   last commits; a world save or a character that the writer has reported
//!   saved must stay saved, and the cost (one fsync per commit) is measured by
//!   `save-report` in `benches/`.
//! - `busy_timeout = 10 s` and `foreign_keys = ON`.
//!
//! # Write transactions
//!
//! A SQLite transaction that starts by reading and then writes must upgrade
//! its lock; if another connection wrote in the meantime, SQLite answers
//! "database is locked" at once, without waiting for the busy timeout. So
//! every write goes through [`Database::begin_write`]: on SQLite it first
//! takes an in-process lock (writers of this process queue in order instead
//! of polling the busy handler) and then opens the transaction with `BEGIN
//! IMMEDIATE`, which takes the write lock up front (and waits for writers of
//! other processes). On PostgreSQL it is a plain `BEGIN`; the stores make
//! their first statement a write of the row they serialise on.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyConnection;
use sqlx::{Any, AnyPool, Connection, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::error::{redact_url, StoreError};

/// Connections per pool: enough for the gateways' logins and the loads;
/// SQLite has one writer at a time anyway.
const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// How long a SQLite connection waits for another process's write lock.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend's name: `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A migrated database and its connection pool. Cheap to clone; clones
/// share the pool.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// The normalised URL (with password), to open more pools.
    url: Arc<str>,
    /// Serialises this process's SQLite writers (shared by reconnected clones).
    write_lock: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .field("url", &redact_url(&self.url))
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects to `url` and applies `migrations`.
    ///
    /// `sqlite://PATH` opens (and creates, unless the URL sets `mode=`) a
    /// SQLite file; `postgres://` or `postgresql://` a PostgreSQL database.
    /// In-memory SQLite is refused: the world's save writer opens
    /// connections of its own, which would each see a different empty
    /// database.
    pub async fn connect_with(
        url: &str,
        migrations: &'static Migrator,
    ) -> Result<Database, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalize_url(url)?;
        if backend == Backend::Sqlite {
            enable_wal(&url).await?;
        }
        let pool = build_pool(&url, backend, DEFAULT_MAX_CONNECTIONS).await?;
        migrate(&pool, &url, backend, migrations).await?;
        tracing::debug!(backend = backend.name(), url = %redact_url(&url), "database ready");
        Ok(Database {
            pool,
            backend,
            url: url.into(),
            write_lock: Arc::new(Mutex::new(())),
        })
    }

    /// The SQLite file `<dir>/<file>` with `migrations`, creating the
    /// directory and the file if missing.
    pub async fn open_file_with(
        dir: impl AsRef<Path>,
        file: &str,
        migrations: &'static Migrator,
    ) -> Result<Database, StoreError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_path_buf(),
            source,
        })?;
        Database::connect_with(&sqlite_url(&dir.join(file))?, migrations).await
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for queries of your own (use
    /// [`Database::begin_write`] for anything that writes).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The URL this database was opened with, password removed.
    pub fn url(&self) -> String {
        redact_url(&self.url)
    }

    /// Begins a write transaction that cannot fail with "database is
    /// locked" halfway (see the module docs). Hold it briefly: on SQLite it
    /// keeps every other writer waiting. On PostgreSQL it is `READ
    /// COMMITTED`: a read-modify-write must lock what it reads first (write
    /// it, as the stores do, or `SELECT ... FOR UPDATE`).
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let (guard, tx) = match self.backend {
            Backend::Sqlite => {
                let guard = self.write_lock.clone().lock_owned().await;
                let tx = self
                    .pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(StoreError::query("beginning a write transaction"))?;
                (Some(guard), tx)
            }
            Backend::Postgres => {
                let tx = self
                    .pool
                    .begin()
                    .await
                    .map_err(StoreError::query("beginning a write transaction"))?;
                (None, tx)
            }
        };
        Ok(WriteTx { tx, _guard: guard })
    }

    /// Begins a read-only transaction that sees one consistent snapshot of
    /// the database (SQLite: a deferred transaction, whose snapshot is taken
    /// at its first read; PostgreSQL: `REPEATABLE READ READ ONLY`).
    pub async fn begin_read(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(StoreError::query("beginning a read transaction"))?;
        if self.backend == Backend::Postgres {
            // Set inside a plain BEGIN rather than with a custom BEGIN
            // statement: a caller cancelled while a custom BEGIN is in
            // flight could hand the connection back to the pool still
            // inside the read-only transaction, and the next writer on it
            // would fail with "read-only transaction". Here the
            // transaction exists before the SET, so a drop rolls it back.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query("beginning a read transaction"))?;
        }
        Ok(tx)
    }

    /// Closes the pool: waits for connections in use to come back, then
    /// closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The same database through a new pool of its own (migrations are not
    /// run again). PostgreSQL connections belong to the tokio runtime that
    /// opened them, so a thread with its own runtime (the save writer) needs
    /// its own pool. SQLite writers still share this process's write lock.
    pub async fn reconnect(&self, max_connections: u32) -> Result<Database, StoreError> {
        let pool = build_pool(&self.url, self.backend, max_connections).await?;
        Ok(Database {
            pool,
            backend: self.backend,
            url: self.url.clone(),
            write_lock: self.write_lock.clone(),
        })
    }
}

/// A write transaction from [`Database::begin_write`]. Use it as a
/// connection (`query.execute(&mut *tx)`); it rolls back when dropped
/// without [`WriteTx::commit`].
pub struct WriteTx {
    // Field order matters: the transaction is dropped (rolled back) before
    // the lock is released.
    tx: Transaction<'static, Any>,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits; on SQLite, durably (`synchronous = FULL`).
    pub async fn commit(self) -> Result<(), StoreError> {
        let WriteTx { tx, _guard } = self;
        tx.commit()
            .await
            .map_err(StoreError::query("committing a write transaction"))
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Checks the scheme and fills in defaults: SQLite files are created unless
/// the URL says otherwise.
fn normalize_url(url: &str) -> Result<(Backend, String), StoreError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    if !lower.starts_with("sqlite:") {
        return Err(StoreError::UnsupportedUrl(redact_url(url)));
    }
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path, query),
        None => (url, ""),
    };
    let params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    let in_memory = path.contains(":memory:") || params.contains(&"mode=memory");
    let file = path.trim_start_matches("sqlite:").trim_start_matches("//");
    if in_memory || file.is_empty() {
        return Err(StoreError::UnsupportedUrl(format!(
            "{url} (in-memory SQLite is not supported: use a file, e.g. in a temporary directory)"
        )));
    }
    if params.iter().any(|p| p.starts_with("mode=")) {
        Ok((Backend::Sqlite, url.to_string()))
    } else {
        let sep = if query.is_empty() { '?' } else { '&' };
        let url = url.trim_end_matches('?');
        Ok((Backend::Sqlite, format!("{url}{sep}mode=rwc")))
    }
}

/// The `sqlite://` URL of a file, percent-encoding what a URL cannot hold.
pub fn sqlite_url(path: &Path) -> Result<String, StoreError> {
    let text = path
        .to_str()
        .ok_or_else(|| StoreError::Invalid(format!("a database at a non-UTF-8 path ({path:?})")))?;
    let mut url = String::from("sqlite://");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(url)
}

/// Switches the file to WAL (persistent, so once per open is enough). The
/// switch needs a lock that the busy handler does not wait for, hence the
/// retries when another process opens the file at the same moment.
async fn enable_wal(url: &str) -> Result<(), StoreError> {
    let connect_error = |source| StoreError::Connect {
        url: redact_url(url),
        source,
    };
    let mut conn = AnyConnection::connect(url).await.map_err(connect_error)?;
    let mut attempt = 0;
    let mode: String = loop {
        match sqlx::query_scalar("PRAGMA journal_mode = WAL")
            .fetch_one(&mut conn)
            .await
        {
            Ok(mode) => break mode,
            Err(e) if attempt < 50 => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "cannot switch to WAL yet; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(connect_error(e)),
        }
    };
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, url = %redact_url(url), "SQLite refused WAL mode; writes will block readers");
    }
    conn.close().await.map_err(connect_error)
}

/// A pool whose SQLite connections get this module's settings.
async fn build_pool(
    url: &str,
    backend: Backend,
    max_connections: u32,
) -> Result<AnyPool, StoreError> {
    let options = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30));
    let options = match backend {
        Backend::Sqlite => options.after_connect(|conn, _meta| {
            Box::pin(async move {
                let busy = format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}");
                sqlx::query(sqlx::AssertSqlSafe(busy))
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA synchronous = FULL")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        }),
        Backend::Postgres => options,
    };
    options
        .connect(url)
        .await
        .map_err(|source| StoreError::Connect {
            url: redact_url(url),
            source,
        })
}

/// Applies the migrations. SQLite has no migration lock, so two processes
/// opening a new file together may collide; the loser retries and then finds
/// the migrations applied.
async fn migrate(
    pool: &AnyPool,
    url: &str,
    backend: Backend,
    migrations: &Migrator,
) -> Result<(), StoreError> {
    let mut attempt = 0;
    loop {
        match migrations.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if backend == Backend::Sqlite && attempt < 3 => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "migration failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(source) => {
                return Err(StoreError::Migrate {
                    url: redact_url(url),
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_completed() {
        let (b, u) = normalize_url("sqlite:///tmp/x/gsp.db").expect("valid");
        assert_eq!(
            (b, u.as_str()),
            (Backend::Sqlite, "sqlite:///tmp/x/gsp.db?mode=rwc")
        );
        let (_, u) = normalize_url("sqlite://a.db?cache=shared").expect("valid");
        assert_eq!(u, "sqlite://a.db?cache=shared&mode=rwc");
        let (_, u) = normalize_url("sqlite://a.db?mode=ro").expect("valid");
        assert_eq!(u, "sqlite://a.db?mode=ro");
        let (b, _) = normalize_url("postgresql://u@h/db").expect("valid");
        assert_eq!(b, Backend::Postgres);
        assert!(matches!(
            normalize_url("mysql://u@h/db"),
            Err(StoreError::UnsupportedUrl(_))
        ));
        assert!(normalize_url("sqlite::memory:").is_err());
        assert!(normalize_url("sqlite://?mode=memory").is_err());
    }

    #[test]
    fn paths_are_percent_encoded() {
        let url = sqlite_url(Path::new("/tmp/a b/x?#%é.db")).expect("utf-8");
        assert_eq!(url, "sqlite:///tmp/a%20b/x%3F%23%25%C3%A9.db");
    }
}
