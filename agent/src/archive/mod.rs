//! The node's half of backups: turning a world's data directory into one
//! archive while the world runs, and an archive back into a data directory
//! while it is stopped.
//!
//! An archive is a gzip'd tar whose entries are relative paths: `./` for
//! the data directory itself, then its folders and files in a fixed order
//! (sorted by name, each folder before its contents). Inside it:
//!
//! - every SQLite database (recognised by its 16-byte header
//!   `SQLite format 3\0`, whatever its name) is a consistent copy made by
//!   SQLite's `VACUUM INTO`, under the database's own name; the copy has
//!   no side files and opens on its own;
//! - SQLite's side files (`…-wal`, `…-shm`, `…-journal`) are never
//!   archived: what matters in them is already in the copy;
//! - every other file is archived as it is, with its permission bits (a
//!   private key stays `0600`) and modification time;
//! - symbolic links and special files are left out, with a warning.
//!
//! [`restore`] accepts only what such an archive can hold: plain files and
//! folders at relative paths inside the data directory. It unpacks into a
//! fresh folder and swaps it in, so a refused or broken archive leaves the
//! old data exactly as it was.
//!
//! The tar and gzip work runs on tokio's blocking threads; only the
//! database copies (which SQLite does on its own thread) are awaited on
//! the caller's. Everything fails with an [`ArchiveError`] whose message
//! can be shown to a user.
//!
//! The agent serves snapshots to the platform and takes archives back
//! from it ([`crate::http`]); the platform's backup store keeps them and
//! never opens them.

mod error;
mod pack;
mod rules;
mod sqlite;
mod unpack;

use std::path::Path;

pub use error::ArchiveError;

/// Makes a gzip'd tar of `data_dir`, consistent even while a world writes
/// to its databases.
///
/// Each SQLite database is copied through `VACUUM INTO` into a scratch
/// folder under the system's temporary directory (`TMPDIR`), so there must
/// be room there for a copy of the largest database. The archive is built
/// in memory.
///
/// # Errors
///
/// [`ArchiveError::Io`] if `data_dir` is missing, not a folder or cannot be
/// read; [`ArchiveError::Database`] if SQLite cannot copy a database.
pub async fn snapshot(data_dir: &Path) -> Result<Vec<u8>, ArchiveError> {
    let root = data_dir.to_path_buf();
    let mut items = tokio::task::spawn_blocking(move || pack::scan(&root))
        .await
        .map_err(|e| ArchiveError::worker("reading the data directory", e))??;

    let databases = items
        .iter()
        .filter(|i| i.kind == pack::Kind::Database)
        .count();
    // Dropped (and so removed) only once the archive is written.
    let scratch = if databases > 0 {
        Some(
            tokio::task::spawn_blocking(|| {
                tempfile::Builder::new().prefix("gsp-backup-").tempdir()
            })
            .await
            .map_err(|e| ArchiveError::worker("making a scratch folder", e))?
            .map_err(|e| ArchiveError::io("making a scratch folder for database copies", e))?,
        )
    } else {
        None
    };
    if let Some(scratch) = &scratch {
        for (i, item) in items.iter_mut().enumerate() {
            if item.kind != pack::Kind::Database {
                continue;
            }
            let copy = scratch.path().join(format!("{i}.db"));
            sqlite::copy(&item.source, &copy).await?;
            item.source = copy;
        }
    }

    let archive = tokio::task::spawn_blocking(move || pack::write(&items))
        .await
        .map_err(|e| ArchiveError::worker("writing the archive", e))??;
    if let Some(scratch) = scratch {
        let path = scratch.path().to_path_buf();
        let removed = tokio::task::spawn_blocking(move || scratch.close()).await;
        if !matches!(removed, Ok(Ok(()))) {
            tracing::warn!(path = %path.display(), "could not remove the scratch folder");
        }
    }
    tracing::debug!(
        data_dir = %data_dir.display(),
        bytes = archive.len(),
        databases,
        "snapshot made"
    );
    Ok(archive)
}

/// Replaces the contents of `data_dir` with those of `archive` (made by
/// [`snapshot`]). The world must be stopped. `data_dir` need not exist
/// yet; its parent folder is created if missing.
///
/// The archive is unpacked into a fresh folder beside `data_dir`, which
/// then takes its place; the old contents are deleted last. Files that
/// were only in the old `data_dir` are gone afterwards.
///
/// # Errors
///
/// [`ArchiveError::BadArchive`] if `archive` is not a gzip'd tar, holds
/// nothing, or has an entry that is absolute, climbs out with `..`, is a
/// link or a device file, or clashes with another; [`ArchiveError::Io`] if
/// the filesystem fails. In every case `data_dir` is left as it was.
pub async fn restore(archive: &[u8], data_dir: &Path) -> Result<(), ArchiveError> {
    let archive = archive.to_vec();
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || unpack::restore(&archive, &dir))
        .await
        .map_err(|e| ArchiveError::worker("restoring the archive", e))??;
    tracing::info!(data_dir = %data_dir.display(), "backup restored");
    Ok(())
}
