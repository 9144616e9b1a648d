//! The platform's database: the persistence crate's machinery with the
//! platform's own schema, in a database separate from any world's.

use std::path::Path;

use gsp_persistence::{Database, StoreError};
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
