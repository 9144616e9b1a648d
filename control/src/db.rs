//! The platform's database: the persistence crate's machinery with the
//! platform's own schema, in a database separate from any world's.

use std::path::Path;

use gsp_store::{Database, StoreError, WriteTx};
use sqlx::migrate::Migrator;

/// The platform's schema: users and auth, the ledger, servers.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The SQLite file the platform keeps in its data directory by default.
pub const DEFAULT_FILE: &str = "platform.db";

/// Opens the platform's database: `url` when given (`postgres://…` or
/// `sqlite://…`), else `<data>/platform.db`; applies the migrations.
pub async fn open(url: Option<&str>, data: &Path) -> Result<Database, StoreError> {
    match url {
        Some(url) => Database::connect_with(url, &MIGRATOR).await,
        None => Database::open_file_with(data, DEFAULT_FILE, &MIGRATOR).await,
    }
}

/// The next id of `counter` (a row of `id_counters`: "users", "api_keys",
/// "templates", "servers"), inside the write transaction that uses it. The
/// counter's row is the transaction's first write, so it also serialises
/// concurrent creators on PostgreSQL.
pub async fn next_id(tx: &mut WriteTx, counter: &'static str) -> Result<i64, StoreError> {
    sqlx::query_scalar("UPDATE id_counters SET value = value + 1 WHERE name = $1 RETURNING value")
        .bind(counter)
        .fetch_one(&mut **tx)
        .await
        .map_err(StoreError::query("allocating an id"))
}
