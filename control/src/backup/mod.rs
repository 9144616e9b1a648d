//! World backups, the control plane's half: the store that keeps a
//! server's archives, lists them and hands them back.
//!
//! A world server (`gsp world`) keeps everything it owns in one directory:
//! `gsp.db` (SQLite in WAL mode, written all the time while the world runs,
//! with `gsp.db-wal` and `gsp.db-shm` beside it), its QUIC certificate and
//! key (`*.pem`) and perhaps other small files and folders. Backing it up
//! has two halves, which run in different places:
//!
//! - The archive runs on the node, next to the data: the agent
//!   (`gsp_agent::archive`) makes a gzip'd tar of the directory *while the
//!   world may be running*, every SQLite database copied through SQLite
//!   itself (`VACUUM INTO`), and restores one by unpacking beside the old
//!   directory and swapping the two, so a bad archive changes nothing. The
//!   control plane asks for both through the node's agent
//!   ([`Orchestrator::backup`](crate::servers::orchestrator::Orchestrator::backup),
//!   [`Orchestrator::restore`](crate::servers::orchestrator::Orchestrator::restore))
//!   and never opens an archive.
//! - [`store`] keeps the archives: [`BackupStore`] on a local directory or
//!   any S3-compatible store, one folder per server
//!   (`servers/<id>/<created_at_ms>.tar.gz`), listed newest first as
//!   [`BackupInfo`].
//!
//! Taking a backup is therefore the node's snapshot put in the store, and
//! restoring one the store's archive sent back to the node (see
//! [`crate::hosting`]). Everything fails with a [`BackupError`] whose message
//! can be shown to a user.
//!
//! ```no_run
//! # async fn demo(archive: Vec<u8>) -> Result<(), gsp_control::backup::BackupError> {
//! use gsp_control::backup::BackupStore;
//!
//! let store = BackupStore::from_url("file:///var/lib/gsp/backups")?;
//! let info = store.put(7, archive).await?; // an archive made on the node
//! let bytes = store.get(7, &info.name).await?; // to send back to the node
//! # Ok(()) }
//! ```

mod error;
pub mod store;

pub use error::BackupError;
pub use store::{BackupInfo, BackupStore};
