//! World backups: a consistent archive of a server's data directory, kept
//! in a backup store, listed, and restored.
//!
//! A world server (`gsp world`) keeps everything it owns in one directory:
//! `gsp.db` (SQLite in WAL mode, written all the time while the world runs,
//! with `gsp.db-wal` and `gsp.db-shm` beside it), its QUIC certificate and
//! key (`*.pem`) and perhaps other small files and folders. Backing it up
//! has two halves, which run in different places:
//!
//! - [`archive`] runs on the node, next to the data. [`archive::snapshot`]
//!   makes a gzip'd tar of the directory *while the world may be running*:
//!   copying `gsp.db` byte for byte would catch it between writes (and
//!   without what still sits in its `-wal`), so every SQLite database is
//!   copied through SQLite itself (`VACUUM INTO`), which gives one
//!   transaction-consistent file; the `-wal`, `-shm` and `-journal` side
//!   files are never archived. [`archive::restore`] unpacks an archive into
//!   a fresh directory beside the old one and swaps the two, so a bad
//!   archive changes nothing (the world is stopped while it runs).
//! - [`store`] keeps the archives: [`BackupStore`] on a local directory or
//!   any S3-compatible store, one folder per server
//!   (`servers/<id>/<created_at_ms>.tar.gz`), listed newest first as
//!   [`BackupInfo`].
//!
//! Taking a backup is therefore `store.put(id, snapshot(dir).await?)`, and
//! restoring one is `restore(&store.get(id, name).await?, dir)`. Everything
//! fails with a [`BackupError`] whose message can be shown to a user.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gsp_platform::backup::BackupError> {
//! use gsp_platform::backup::{archive, BackupStore};
//! use std::path::Path;
//!
//! let store = BackupStore::from_url("file:///var/lib/gsp/backups")?;
//! let data = Path::new("/var/lib/gsp/servers/7");
//! let info = store.put(7, archive::snapshot(data).await?).await?;
//! // ... later, with the world stopped:
//! let bytes = store.get(7, &info.name).await?;
//! archive::restore(&bytes, data).await?;
//! # Ok(()) }
//! ```

pub mod archive;
mod error;
pub mod store;

pub use error::BackupError;
pub use store::{BackupInfo, BackupStore};
