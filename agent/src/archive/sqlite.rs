//! A consistent copy of a live SQLite database, made by SQLite itself.
//!
//! `VACUUM INTO '<file>'` writes the whole database, as one read
//! transaction sees it, into a new compact file. In WAL mode that read
//! transaction does not block the world's writers (nor they it), and it
//! includes what is committed but still sits in the `-wal` file — which a
//! byte copy of the database file would miss, or catch half-written.
//!
//! The copy is made through a read-only connection, so the backup can
//! never write to the world's database (nor change its journal mode). If
//! SQLite refuses to open it read-only (a rollback journal left by a crash
//! needs a writer to roll back), a normal connection is tried once.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use super::ArchiveError;

/// Writes a consistent copy of the database at `db` to `into`, which must
/// not exist yet.
pub(crate) async fn copy(db: &Path, into: &Path) -> Result<(), ArchiveError> {
    match vacuum_into(db, into, true).await {
        Ok(()) => Ok(()),
        Err(read_only) => {
            tracing::debug!(
                db = %db.display(),
                error = %read_only,
                "read-only copy failed, trying a normal connection"
            );
            remove_partial(into).await?;
            vacuum_into(db, into, false).await.map_err(|e| {
                ArchiveError::Database(format!(
                    "{}: {e} (read-only, it failed with: {read_only})",
                    db.display()
                ))
            })
        }
    }
}

async fn vacuum_into(db: &Path, into: &Path, read_only: bool) -> Result<(), sqlx::Error> {
    let target = into.to_str().ok_or_else(|| {
        sqlx::Error::Configuration(
            format!("the scratch path {} is not UTF-8", into.display()).into(),
        )
    })?;
    let options = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(false)
        .read_only(read_only)
        .disable_statement_logging();
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let done = sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut conn)
        .await;
    let closed = conn.close().await;
    done?;
    closed
}

async fn remove_partial(path: &Path) -> Result<(), ArchiveError> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ArchiveError::io(
            format!("removing the partial copy {}", path.display()),
            e,
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions};

    async fn world_db(path: &Path, mode: SqliteJournalMode) -> sqlx::SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(mode);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (1), (2)")
            .execute(&pool)
            .await
            .unwrap();
        pool
    }

    async fn rows(path: &Path) -> i64 {
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        n
    }

    #[tokio::test]
    async fn a_live_wal_database_is_copied_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gsp.db");
        let pool = world_db(&db, SqliteJournalMode::Wal).await;
        let into = dir.path().join("copy.db");
        // The read-only path itself, not the fallback.
        vacuum_into(&db, &into, true)
            .await
            .expect("read-only VACUUM INTO");
        assert_eq!(rows(&into).await, 2);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal", "the world's database is left in WAL mode");
        pool.close().await;
    }

    #[tokio::test]
    async fn a_rollback_journal_database_is_copied_too() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("old.db");
        let pool = world_db(&db, SqliteJournalMode::Delete).await;
        pool.close().await;
        let into = dir.path().join("copy.db");
        copy(&db, &into).await.expect("copy");
        assert_eq!(rows(&into).await, 2);
    }

    #[tokio::test]
    async fn a_missing_database_is_a_database_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("missing.db");
        let err = copy(&db, &dir.path().join("copy.db")).await.unwrap_err();
        assert!(matches!(err, ArchiveError::Database(_)), "{err:?}");
        assert!(err.to_string().contains("missing.db"), "{err}");
        assert!(!db.exists(), "never created");
    }
}
