//! The rules of a backup archive, without any I/O: which files are SQLite
//! databases, which are never archived, and which tar entries may be
//! restored (and where to).
//!
//! Keeping them here, apart from the code that reads and writes files,
//! lets them be tested on plain values.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

/// The first 16 bytes of every SQLite database file.
pub(crate) const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Suffixes of the files SQLite keeps beside a database while it is in
/// use. They belong to the live database and mean nothing beside a copy,
/// so they are never archived.
pub(crate) const SIDE_FILE_SUFFIXES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Whether a file that starts with `head` is a SQLite database.
pub(crate) fn is_sqlite(head: &[u8]) -> bool {
    head.starts_with(SQLITE_HEADER)
}

/// Whether a file named `name` is one of SQLite's side files (a
/// write-ahead log, its shared-memory index or a rollback journal).
pub(crate) fn is_side_file(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    SIDE_FILE_SUFFIXES
        .iter()
        .any(|suffix| name.len() > suffix.len() && name.ends_with(suffix))
}

/// What a tar entry becomes when restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Restored {
    /// A regular file.
    File,
    /// A folder.
    Dir,
}

/// Checks one entry of an archive being restored: its type must be a
/// regular file or a folder (never a link or a device) and its path
/// relative, staying inside the data directory. Returns the cleaned
/// relative path (without `.` components) and what to make, or why the
/// entry is refused. A folder entry for the root itself (`./`) comes back
/// with an empty path.
pub(crate) fn check_entry(
    path: &Path,
    kind: tar::EntryType,
) -> Result<(PathBuf, Restored), String> {
    let shown = path.display();
    let restored = match kind {
        tar::EntryType::Regular | tar::EntryType::Continuous => Restored::File,
        tar::EntryType::Directory => Restored::Dir,
        tar::EntryType::Symlink => return Err(format!("{shown} is a symbolic link")),
        tar::EntryType::Link => return Err(format!("{shown} is a hard link")),
        tar::EntryType::Char | tar::EntryType::Block => {
            return Err(format!("{shown} is a device file"))
        }
        tar::EntryType::Fifo => return Err(format!("{shown} is a named pipe")),
        other => return Err(format!("{shown} has an unsupported entry type ({other:?})")),
    };
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(format!("{shown} climbs out with `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("{shown} is an absolute path"))
            }
        }
    }
    if clean.as_os_str().is_empty() && restored == Restored::File {
        return Err("a file entry has an empty name".to_string());
    }
    Ok((clean, restored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tar::EntryType;

    #[test]
    fn sqlite_is_known_by_its_header_not_its_name() {
        let mut page = SQLITE_HEADER.to_vec();
        page.extend_from_slice(&[0x10, 0x00, 2, 2]);
        assert!(is_sqlite(&page));
        assert!(is_sqlite(SQLITE_HEADER));
        assert!(!is_sqlite(b"SQLite format 3"), "15 bytes are not a header");
        assert!(!is_sqlite(b"-----BEGIN CERTIFICATE-----"));
        assert!(!is_sqlite(b""));
    }

    #[test]
    fn side_files_are_wal_shm_and_journal() {
        for name in ["gsp.db-wal", "gsp.db-shm", "gsp.db-journal", "x-wal"] {
            assert!(is_side_file(OsStr::new(name)), "{name}");
        }
        for name in [
            "gsp.db",
            "cert.pem",
            "wal",
            "-wal",
            "gsp.db-wal.txt",
            "journal",
        ] {
            assert!(!is_side_file(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn plain_files_and_folders_are_accepted_and_cleaned() {
        assert_eq!(
            check_entry(Path::new("gsp.db"), EntryType::Regular),
            Ok((PathBuf::from("gsp.db"), Restored::File))
        );
        assert_eq!(
            check_entry(Path::new("./maps/./a.bin"), EntryType::Regular),
            Ok((PathBuf::from("maps/a.bin"), Restored::File))
        );
        assert_eq!(
            check_entry(Path::new("maps/"), EntryType::Directory),
            Ok((PathBuf::from("maps"), Restored::Dir))
        );
        assert_eq!(
            check_entry(Path::new("./"), EntryType::Directory),
            Ok((PathBuf::new(), Restored::Dir))
        );
    }

    #[test]
    fn escaping_paths_are_refused() {
        for path in ["../evil", "a/../../evil", "a/..", "/etc/passwd"] {
            let err = check_entry(Path::new(path), EntryType::Regular).unwrap_err();
            assert!(err.contains(path), "{err}");
        }
        assert!(check_entry(Path::new(""), EntryType::Regular).is_err());
        assert!(check_entry(Path::new("."), EntryType::Regular).is_err());
    }

    #[test]
    fn links_and_devices_are_refused() {
        for (kind, word) in [
            (EntryType::Symlink, "symbolic link"),
            (EntryType::Link, "hard link"),
            (EntryType::Char, "device"),
            (EntryType::Block, "device"),
            (EntryType::Fifo, "pipe"),
            (EntryType::GNUSparse, "unsupported"),
        ] {
            let err = check_entry(Path::new("x"), kind).unwrap_err();
            assert!(err.contains(word), "{kind:?}: {err}");
        }
    }
}
