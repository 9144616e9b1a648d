//! Making the archive: walking the data directory into a list of entries,
//! then writing them as a gzip'd tar. Both steps block (they read files and
//! compress), so they run on a blocking thread.
//!
//! The walk visits each folder's children sorted by name, so the same
//! directory always gives the same order of entries: first `./` (the data
//! directory itself), then each folder before its contents. Symbolic links and special files (sockets, pipes,
//! devices) are skipped with a warning: a restore would refuse them.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::rules;
use super::ArchiveError;

/// What an entry of the data directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A folder.
    Dir,
    /// A file archived as it is.
    File,
    /// A SQLite database: archived through a consistent copy.
    Database,
}

/// One entry of the data directory, in archive order.
#[derive(Debug)]
pub(super) struct Item {
    /// Its path inside the data directory (the name in the archive).
    pub rel: PathBuf,
    /// What it is.
    pub kind: Kind,
    /// Where its bytes are read from: the file itself, or for a database
    /// its consistent copy once one is made.
    pub source: PathBuf,
    /// Its permission bits (`0o777` at most).
    pub mode: u32,
    /// Its modification time, seconds since the Unix epoch.
    pub mtime: u64,
}

/// Walks `root` and lists what goes in the archive.
pub(super) fn scan(root: &Path) -> Result<Vec<Item>, ArchiveError> {
    let meta = fs::metadata(root).map_err(|e| {
        ArchiveError::io(format!("reading the data directory {}", root.display()), e)
    })?;
    if !meta.is_dir() {
        return Err(ArchiveError::io(
            format!("reading the data directory {}", root.display()),
            io::Error::new(io::ErrorKind::NotADirectory, "it is not a directory"),
        ));
    }
    // The root itself comes first, as `./`: even an empty data directory
    // gives an archive with an entry, which a restore recognises.
    let mut items = vec![item(
        PathBuf::from("./"),
        Kind::Dir,
        root.to_path_buf(),
        &meta,
    )];
    walk(root, Path::new(""), &mut items)?;
    Ok(items)
}

fn walk(root: &Path, rel_dir: &Path, items: &mut Vec<Item>) -> Result<(), ArchiveError> {
    let dir = root.join(rel_dir);
    let listing = fs::read_dir(&dir)
        .map_err(|e| ArchiveError::io(format!("listing {}", dir.display()), e))?;
    let mut children = Vec::new();
    for child in listing {
        let child = child.map_err(|e| ArchiveError::io(format!("listing {}", dir.display()), e))?;
        children.push(child.file_name());
    }
    children.sort();
    for name in children {
        let rel = rel_dir.join(&name);
        let path = root.join(&rel);
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            // Removed since the listing (a world's temporary file): gone.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ArchiveError::io(format!("reading {}", path.display()), e)),
        };
        let file_type = meta.file_type();
        if file_type.is_dir() {
            items.push(item(rel.clone(), Kind::Dir, path, &meta));
            walk(root, &rel, items)?;
        } else if file_type.is_file() {
            if rules::is_side_file(&name) {
                continue;
            }
            let kind = match head(&path) {
                Ok(head) if rules::is_sqlite(&head) => Kind::Database,
                Ok(_) => Kind::File,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ArchiveError::io(format!("reading {}", path.display()), e)),
            };
            items.push(item(rel, kind, path, &meta));
        } else {
            tracing::warn!(
                path = %path.display(),
                "not a plain file or folder (a link or special file): left out of the backup"
            );
        }
    }
    Ok(())
}

fn item(rel: PathBuf, kind: Kind, source: PathBuf, meta: &Metadata) -> Item {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Item {
        rel,
        kind,
        source,
        mode: mode_of(meta),
        mtime,
    }
}

#[cfg(unix)]
fn mode_of(meta: &Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode_of(meta: &Metadata) -> u32 {
    match (meta.is_dir(), meta.permissions().readonly()) {
        (true, _) => 0o755,
        (false, true) => 0o444,
        (false, false) => 0o644,
    }
}

/// The first bytes of a file (up to the length of a SQLite header).
fn head(path: &Path) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(rules::SQLITE_HEADER.len());
    File::open(path)?
        .take(rules::SQLITE_HEADER.len() as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// A folder's name in the archive: with a trailing `/`, as tar writes them.
fn dir_name(rel: &Path) -> PathBuf {
    let mut name = rel.as_os_str().to_os_string();
    if !name.as_encoded_bytes().ends_with(b"/") {
        name.push("/");
    }
    PathBuf::from(name)
}

/// Writes `items` as a gzip'd tar, in their order.
///
/// A file's bytes are read whole before its header is written, so a file
/// the world rewrites meanwhile goes in as one coherent version with the
/// right size; a file removed since the walk is left out.
pub(super) fn write(items: &[Item]) -> Result<Vec<u8>, ArchiveError> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let archive_err = |e: io::Error| ArchiveError::io("writing the archive", e);
    for item in items {
        let mut header = tar::Header::new_gnu();
        header.set_mode(item.mode);
        header.set_mtime(item.mtime);
        header.set_uid(0);
        header.set_gid(0);
        match item.kind {
            Kind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                tar.append_data(&mut header, dir_name(&item.rel), io::empty())
                    .map_err(archive_err)?;
            }
            Kind::File | Kind::Database => {
                let bytes = match fs::read(&item.source) {
                    Ok(bytes) => bytes,
                    Err(e) if e.kind() == io::ErrorKind::NotFound && item.kind == Kind::File => {
                        continue
                    }
                    Err(e) => {
                        return Err(ArchiveError::io(
                            format!("reading {}", item.source.display()),
                            e,
                        ))
                    }
                };
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(bytes.len() as u64);
                tar.append_data(&mut header, &item.rel, bytes.as_slice())
                    .map_err(archive_err)?;
            }
        }
    }
    let gz = tar.into_inner().map_err(archive_err)?;
    gz.finish().map_err(archive_err)
}
