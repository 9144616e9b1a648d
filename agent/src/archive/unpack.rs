//! Restoring an archive: unpack into a fresh folder beside the data
//! directory, then swap the two with renames. Blocking throughout.
//!
//! The order is what keeps the old data safe:
//!
//! 1. Unpack everything into `.<name>.restore-XXXX` in the same parent
//!    folder. Every entry is checked first ([`rules::check_entry`]); any
//!    refusal, a corrupt archive or a full disk stops here, the fresh
//!    folder is removed and the data directory was never touched.
//! 2. Rename the data directory aside (`.<name>.old-…`), rename the fresh
//!    folder into its place — both renames within one folder, so each is
//!    atomic — and only then delete the old one. If the second rename
//!    fails, the first is undone.
//!
//! Files are written with their archived permission bits (so a private
//! key stays private) and modification times; folders get the defaults,
//! and the restored data directory itself keeps the old one's permissions.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flate2::read::GzDecoder;

use super::rules::{self, Restored};
use super::ArchiveError;

/// Restores `archive` into `data_dir`, replacing what is there.
pub(super) fn restore(archive: &[u8], data_dir: &Path) -> Result<(), ArchiveError> {
    let (parent, name) = split(data_dir)?;
    let old_meta = match fs::symlink_metadata(data_dir) {
        Ok(meta) if meta.is_dir() => Some(meta),
        Ok(_) => {
            return Err(ArchiveError::io(
                format!("restoring into {}", data_dir.display()),
                io::Error::new(io::ErrorKind::NotADirectory, "it is not a directory"),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(ArchiveError::io(
                format!("reading {}", data_dir.display()),
                e,
            ))
        }
    };
    fs::create_dir_all(&parent)
        .map_err(|e| ArchiveError::io(format!("creating {}", parent.display()), e))?;

    let mut prefix = OsString::from(".");
    prefix.push(&name);
    prefix.push(".restore-");
    let fresh = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(&parent)
        .map_err(|e| ArchiveError::io(format!("making a folder in {}", parent.display()), e))?;
    unpack(archive, fresh.path())?;
    if let Some(meta) = &old_meta {
        fs::set_permissions(fresh.path(), meta.permissions()).map_err(|e| {
            ArchiveError::io(
                format!("setting permissions on {}", fresh.path().display()),
                e,
            )
        })?;
    }
    // From here on the fresh folder must outlive this function.
    let fresh = fresh.keep();
    swap(&fresh, data_dir, &parent, &name, old_meta.is_some()).inspect_err(|_| {
        let _ = fs::remove_dir_all(&fresh);
    })
}

/// The parent folder and the name of `data_dir`.
fn split(data_dir: &Path) -> Result<(PathBuf, OsString), ArchiveError> {
    let bad = || {
        ArchiveError::io(
            format!("restoring into {}", data_dir.display()),
            io::Error::new(io::ErrorKind::InvalidInput, "it does not name a folder"),
        )
    };
    let name = data_dir.file_name().ok_or_else(bad)?.to_os_string();
    let parent = match data_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        Some(_) => PathBuf::from("."),
        None => return Err(bad()),
    };
    Ok((parent, name))
}

/// Unpacks every entry of `archive` under `into`, after checking it.
fn unpack(archive: &[u8], into: &Path) -> Result<(), ArchiveError> {
    let bad = |what: String| ArchiveError::BadArchive(what);
    let mut tar = tar::Archive::new(GzDecoder::new(archive));
    let entries = tar
        .entries()
        .map_err(|e| bad(format!("it is not a gzip'd tar ({e})")))?;
    let mut count = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("it is not a gzip'd tar ({e})")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("an entry has an unreadable name ({e})")))?
            .into_owned();
        let (rel, kind) = rules::check_entry(&path, entry.header().entry_type()).map_err(bad)?;
        count += 1;
        let dest = into.join(&rel);
        match kind {
            Restored::Dir => make_dirs(&dest, &rel)?,
            Restored::File => {
                if let Some(parent) = rel.parent() {
                    make_dirs(&into.join(parent), &rel)?;
                }
                let mode = entry.header().mode().unwrap_or(0o600) & 0o777;
                let mtime = entry.header().mtime().ok();
                write_file(&mut entry, &dest, &rel, mode, mtime)?;
            }
        }
    }
    if count == 0 {
        // A gzip'd empty stream reads as an empty tar; a backup always has
        // at least one entry, so this is not a backup.
        return Err(bad("it holds no files".into()));
    }
    Ok(())
}

fn make_dirs(dir: &Path, rel: &Path) -> Result<(), ArchiveError> {
    fs::create_dir_all(dir).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory => {
            ArchiveError::BadArchive(format!("{} is both a file and a folder", rel.display()))
        }
        _ => ArchiveError::io(format!("creating {}", dir.display()), e),
    })
}

fn write_file(
    entry: &mut impl Read,
    dest: &Path,
    rel: &Path,
    mode: u32,
    mtime: Option<u64>,
) -> Result<(), ArchiveError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(dest).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => {
            ArchiveError::BadArchive(format!("{} appears twice", rel.display()))
        }
        _ => ArchiveError::io(format!("creating {}", dest.display()), e),
    })?;
    let writing = |e| ArchiveError::io(format!("writing {}", dest.display()), e);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(ArchiveError::BadArchive(format!(
                    "{} cannot be read ({e})",
                    rel.display()
                )))
            }
        };
        file.write_all(&buf[..n]).map_err(writing)?;
    }
    file.sync_all().map_err(writing)?;
    if let Some(secs) = mtime {
        let _ = file.set_modified(UNIX_EPOCH + Duration::from_secs(secs));
    }
    set_mode(&file, mode).map_err(writing)
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    let mut perms = file.metadata()?.permissions();
    perms.set_readonly(mode & 0o200 == 0);
    file.set_permissions(perms)
}

/// Puts `fresh` where `data_dir` is, moving the old one aside and then
/// deleting it.
fn swap(
    fresh: &Path,
    data_dir: &Path,
    parent: &Path,
    name: &OsString,
    had_old: bool,
) -> Result<(), ArchiveError> {
    if !had_old {
        return fs::rename(fresh, data_dir).map_err(|e| {
            ArchiveError::io(
                format!("moving the restored data to {}", data_dir.display()),
                e,
            )
        });
    }
    let aside = aside_path(parent, name);
    fs::rename(data_dir, &aside)
        .map_err(|e| ArchiveError::io(format!("moving {} aside", data_dir.display()), e))?;
    if let Err(e) = fs::rename(fresh, data_dir) {
        if let Err(undo) = fs::rename(&aside, data_dir) {
            tracing::error!(
                data_dir = %data_dir.display(),
                aside = %aside.display(),
                error = %undo,
                "could not move the old data back: it is in the aside folder"
            );
        }
        return Err(ArchiveError::io(
            format!("moving the restored data to {}", data_dir.display()),
            e,
        ));
    }
    if let Err(e) = fs::remove_dir_all(&aside) {
        // The restore itself succeeded; only the old copy lingers.
        tracing::warn!(path = %aside.display(), error = %e, "could not delete the replaced data");
    }
    Ok(())
}

/// A name beside the data directory that nothing uses yet.
fn aside_path(parent: &Path, name: &OsString) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut n = 0u32;
    loop {
        let mut aside = OsString::from(".");
        aside.push(name);
        aside.push(format!(".old-{}-{nanos}-{n}", std::process::id()));
        let path = parent.join(aside);
        if fs::symlink_metadata(&path).is_err() {
            return path;
        }
        n += 1;
    }
}
