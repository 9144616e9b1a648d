//! The world's database: [`gsp_store::Database`] with this crate's schema
//! (accounts, characters and world saves, `persistence/migrations/`).

use std::path::Path;

use gsp_store::{Database, StoreError};
use sqlx::migrate::Migrator;

/// The stores' schema: accounts, characters and world saves.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connects to `url` (`sqlite://PATH` or `postgres://...`) and applies
/// [`MIGRATOR`].
pub async fn connect(url: &str) -> Result<Database, StoreError> {
    Database::connect_with(url, &MIGRATOR).await
}

/// Opens the embedded default: the SQLite file `<dir>/gsp.db`, creating
/// the directory and the file if missing.
pub async fn open_data_dir(dir: impl AsRef<Path>) -> Result<Database, StoreError> {
    Database::open_file_with(dir, "gsp.db", &MIGRATOR).await
}
