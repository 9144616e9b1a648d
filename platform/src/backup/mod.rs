//! World backups: a consistent archive of a server's data directory, kept
//! in a backup store, listed, and restored.
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
//!   platform asks for both through the node's agent
//!   ([`Agent::backup`](crate::servers::agent::Agent::backup),
//!   [`Agent::restore`](crate::servers::agent::Agent::restore)) and never
//!   opens an archive.
//! - [`store`] keeps the archives: [`BackupStore`] on a local directory or
//!   any S3-compatible store, one folder per server
//!   (`servers/<id>/<created_at_ms>.tar.gz`), listed newest first as
//!   [`BackupInfo`].
//!
//! Taking a backup is therefore `store.put(id, agent.backup(id).await?)`,
//! and restoring one is `agent.restore(id, store.get(id, name).await?)`.
//! The store fails with a [`BackupError`] whose message can be shown to a
//! user.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gsp_platform::backup::BackupError> {
//! use gsp_platform::backup::BackupStore;
//!
//! let store = BackupStore::from_url("file:///var/lib/gsp/backups")?;
//! let archive: Vec<u8> = Vec::new(); // from the server's agent
//! let info = store.put(7, archive).await?;
//! // ... later, with the world stopped, back to its agent:
//! let bytes = store.get(7, &info.name).await?;
//! # let _ = bytes;
//! # Ok(()) }
//! ```

mod error;
pub mod store;

pub use error::BackupError;
pub use store::{BackupInfo, BackupStore};
