//! Test support: throwaway databases on both backends, and
//! [`both_backends!`](crate::both_backends) to run one test body on each.
//!
//! Every database gets the schema of the caller's crate (its `Migrator`).
//! This module is built only with the `testing` feature, which only
//! dev-dependencies turn on: release builds carry none of it.
//!
//! - [`TestDb::sqlite_with`]: a file in a fresh temporary directory.
//! - [`TestDb::postgres_with`]: a fresh database `gsp_test_<random>` on the
//!   server at `postgres://postgres@127.0.0.1:5432/postgres` (or the URL in
//!   `GSP_TEST_POSTGRES_URL`), dropped again when the `TestDb` is. When the
//!   server cannot be reached it prints why and returns `None`, so that a
//!   machine without PostgreSQL skips those tests; with `CI=true` it panics
//!   instead, so that CI cannot skip them by accident.
//!
//! ```no_run
//! // A crate's schema: `sqlx::migrate!("./migrations")`; none here.
//! static SCHEMA: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
//!
//! gsp_store::both_backends! {
//!     migrations = &SCHEMA;
//!     fn answers(test) {
//!         let one: i32 = sqlx::query_scalar("SELECT 1")
//!             .fetch_one(test.db().pool())
//!             .await
//!             .unwrap();
//!         assert_eq!(one, 1);
//!     }
//! }
//! ```

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::{AssertSqlSafe, Connection};

use crate::db::{sqlite_url, Backend, Database};
use crate::error::redact_url;
use sqlx::migrate::Migrator;

/// The server [`TestDb::postgres_with`] creates its databases on, unless
/// [`POSTGRES_URL_ENV`] says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The environment variable naming another server (a URL to an existing
/// database, used to create and drop the test databases).
pub const POSTGRES_URL_ENV: &str = "GSP_TEST_POSTGRES_URL";

/// A throwaway database, removed when dropped.
pub struct TestDb {
    db: Database,
    url: String,
    dir: Option<tempfile::TempDir>,
    /// (admin URL, database name) of a PostgreSQL database to drop.
    postgres: Option<(String, String)>,
    migrations: &'static Migrator,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &redact_url(&self.url))
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// A SQLite database with `migrations` applied, in a new temporary
    /// directory. Panics if it cannot be made (this is test support).
    pub async fn sqlite_with(migrations: &'static Migrator) -> TestDb {
        let dir = tempfile::Builder::new()
            .prefix("gsp-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let db = Database::open_file_with(dir.path(), "gsp.db", migrations)
            .await
            .unwrap_or_else(|e| panic!("cannot open a SQLite test database: {e}"));
        let url = sqlite_url(&dir.path().join("gsp.db"))
            .unwrap_or_else(|e| panic!("cannot name the SQLite test database: {e}"));
        TestDb {
            db,
            url,
            dir: Some(dir),
            postgres: None,
            migrations,
        }
    }

    /// A fresh PostgreSQL database with `migrations` applied; `None` (after
    /// printing why) when the server cannot be reached, unless `CI=true`,
    /// where it panics.
    pub async fn postgres_with(migrations: &'static Migrator) -> Option<TestDb> {
        let admin = std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        match create_postgres(&admin, migrations).await {
            Ok(db) => Some(db),
            Err(why) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("PostgreSQL is required under CI=true: {why}");
                }
                // Straight to stderr, past the test harness's capture, so
                // that the skip shows in a normal `cargo test` run.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping a PostgreSQL test: {why} (with CI=true this fails)"
                );
                None
            }
        }
    }

    /// [`TestDb::sqlite_with`] or [`TestDb::postgres_with`].
    pub async fn new_with(backend: Backend, migrations: &'static Migrator) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite_with(migrations).await),
            Backend::Postgres => TestDb::postgres_with(migrations).await,
        }
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Its backend.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Its URL (for [`Database::connect_with`], as another process would).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The temporary directory holding a SQLite database.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.path())
    }

    /// A new [`Database`] on the same database, as a restarted process
    /// would open it. Panics on failure.
    pub async fn reopen(&self) -> Database {
        Database::connect_with(&self.url, self.migrations)
            .await
            .unwrap_or_else(|e| panic!("cannot reopen the test database: {e}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            drop_postgres(admin, name);
        }
    }
}

/// Drops the test database `name`, best effort. Runs on a thread of its
/// own: Drop cannot await, and the test's runtime may be shutting down.
fn drop_postgres(admin: String, name: String) {
    let dropper = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let Ok(Ok(mut conn)) =
                tokio::time::timeout(Duration::from_secs(5), AnyConnection::connect(&admin)).await
            else {
                eprintln!("cannot drop the test database {name}: server unreachable");
                return;
            };
            let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            if let Err(e) = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut conn).await {
                eprintln!("cannot drop the test database {name}: {e}");
            }
            let _ = conn.close().await;
        });
    });
    let _ = dropper.join();
}

async fn create_postgres(admin: &str, migrations: &'static Migrator) -> Result<TestDb, String> {
    sqlx::any::install_default_drivers();
    let shown = redact_url(admin);
    let mut conn =
        match tokio::time::timeout(Duration::from_secs(5), AnyConnection::connect(admin)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(format!("PostgreSQL unreachable at {shown}: {e}")),
            Err(_) => return Err(format!("PostgreSQL unreachable at {shown}: timed out")),
        };
    let name = format!("gsp_test_{:016x}", fastrand::u64(..));
    let mut attempt = 0;
    loop {
        let create = format!("CREATE DATABASE {name}");
        match sqlx::raw_sql(AssertSqlSafe(create))
            .execute(&mut conn)
            .await
        {
            Ok(_) => break,
            // Concurrent CREATE DATABASE may collide on the template.
            Err(e) if attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                tracing::debug!(error = %e, "CREATE DATABASE failed; retrying");
            }
            Err(e) => return Err(format!("cannot create a test database on {shown}: {e}")),
        }
    }
    let _ = conn.close().await;
    let url = with_database(admin, &name);
    match Database::connect_with(&url, migrations).await {
        Ok(db) => Ok(TestDb {
            db,
            url,
            dir: None,
            postgres: Some((admin.to_string(), name)),
            migrations,
        }),
        Err(e) => {
            drop_postgres(admin.to_string(), name);
            Err(format!("cannot open the test database: {e}"))
        }
    }
}

/// `url` with its database (path) replaced by `name`; the query is kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// Runs `test` on a fresh database of `backend` with `migrations`, on a
/// multi-threaded tokio runtime of its own; returns at once (the skip
/// printed) when PostgreSQL is unreachable outside CI.
pub fn run_with<F, Fut>(backend: Backend, migrations: &'static Migrator, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a tokio runtime: {e}"));
    rt.block_on(async {
        if let Some(db) = TestDb::new_with(backend, migrations).await {
            test(db).await;
        }
    });
}

/// Defines a test module with one test per backend (`sqlite` and
/// `postgres`), each running the body with a fresh [`TestDb`] with the
/// given migrations, bound to the given name. The body is async.
///
/// ```no_run
/// static SCHEMA: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
///
/// gsp_store::both_backends! {
///     migrations = &SCHEMA;
///     fn opens(test) {
///         assert!(test.db().pool().size() <= 8);
///     }
/// }
/// ```
#[macro_export]
macro_rules! both_backends {
    (migrations = $migrations:expr; $(#[$attr:meta])* fn $name:ident($db:ident) { $($body:tt)* }) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$attr])*
            #[test]
            fn sqlite() {
                $crate::testing::run_with($crate::Backend::Sqlite, $migrations, |$db| async move { $($body)* });
            }

            $(#[$attr])*
            #[test]
            fn postgres() {
                $crate::testing::run_with($crate::Backend::Postgres, $migrations, |$db| async move { $($body)* });
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_swapped_in() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "gsp_test_1"),
            "postgres://postgres@127.0.0.1:5432/gsp_test_1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
