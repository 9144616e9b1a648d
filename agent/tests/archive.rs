//! Backup archives on real SQLite files and a real filesystem: snapshots
//! taken while a writer keeps committing, and restores that replace a data
//! directory or refuse a bad archive without touching it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use gsp_agent::archive::{self, ArchiveError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use tempfile::TempDir;

// ---------------------------------------------------------------- helpers

/// A pool on a WAL-mode database at `path`, created if missing.
async fn wal_pool(path: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .expect("open the world's database")
}

/// The names of the entries of a gzip'd tar, in order.
fn entry_names(archive: &[u8]) -> Vec<String> {
    let mut tar = tar::Archive::new(GzDecoder::new(archive));
    tar.entries()
        .expect("a tar")
        .map(|e| {
            e.expect("an entry")
                .path()
                .expect("a path")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Every file and folder under `dir`: relative path → contents (`None` for
/// a folder).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for entry in std::fs::read_dir(dir).expect("list") {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                out.insert(rel, None);
                walk(root, &path, out);
            } else {
                out.insert(rel, Some(std::fs::read(&path).expect("read")));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// What a restored database holds: (rows, smallest id, largest id), after
/// checking it opens on its own and passes `PRAGMA integrity_check`.
async fn check_restored_db(path: &Path) -> (i64, i64, i64) {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("the restored database opens");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .expect("integrity_check runs");
    assert_eq!(check, "ok", "{}", path.display());
    let row = sqlx::query("SELECT COUNT(*), COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM rows")
        .fetch_one(&pool)
        .await
        .expect("the rows table is there");
    let counts = (row.get(0), row.get(1), row.get(2));
    pool.close().await;
    counts
}

fn gzip(tar: Vec<u8>) -> Vec<u8> {
    use std::io::Write;
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

/// A header whose name is written raw, so that names the `tar` crate
/// refuses to write (`../evil`, `/etc/x`) can be made.
fn raw_header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_old();
    let slot = &mut header.as_old_mut().name;
    slot[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header
}

/// A gzip'd tar with one good file, then `evil`.
fn archive_with(evil: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut good = tar::Header::new_gnu();
    good.set_size(5);
    good.set_mode(0o644);
    tar.append_data(&mut good, "good.txt", &b"hello"[..])
        .unwrap();
    evil(&mut tar);
    gzip(tar.into_inner().unwrap())
}

fn siblings(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------- archive

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_of_a_live_wal_database_are_consistent_prefixes() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("world");
    std::fs::create_dir(&data).unwrap();
    let db = data.join("gsp.db");
    let pool = wal_pool(&db).await;
    sqlx::query("CREATE TABLE rows (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();

    // The writer commits rows 1, 2, 3, … (in transactions of 1–4 rows),
    // and publishes how many are committed after each commit.
    let committed = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let pool = pool.clone();
        let committed = committed.clone();
        let stop = stop.clone();
        async move {
            let mut next = 1i64;
            while !stop.load(Ordering::SeqCst) {
                let batch = fastrand::i64(1..=4);
                let mut tx = pool.begin().await.expect("begin");
                for id in next..next + batch {
                    sqlx::query("INSERT INTO rows (id, payload) VALUES (?, ?)")
                        .bind(id)
                        .bind(vec![(id % 251) as u8; 200])
                        .execute(&mut *tx)
                        .await
                        .expect("insert");
                }
                tx.commit().await.expect("commit");
                next += batch;
                committed.store(next - 1, Ordering::SeqCst);
            }
            next - 1
        }
    });

    // Let some rows in first, so the log is not empty.
    while committed.load(Ordering::SeqCst) < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut seen = Vec::new();
    for i in 0..5 {
        assert!(
            data.join("gsp.db-wal").exists(),
            "the database is live, with a write-ahead log beside it"
        );
        let before = committed.load(Ordering::SeqCst);
        let bytes = archive::snapshot(&data).await.expect("snapshot");
        let after = committed.load(Ordering::SeqCst);

        let names = entry_names(&bytes);
        assert!(names.contains(&"gsp.db".to_string()), "{names:?}");
        assert!(
            names
                .iter()
                .all(|n| !n.ends_with("-wal") && !n.ends_with("-shm")),
            "side files are never archived: {names:?}"
        );

        let restored = tmp.path().join(format!("restored-{i}"));
        archive::restore(&bytes, &restored).await.expect("restore");
        let (count, min, max) = check_restored_db(&restored.join("gsp.db")).await;
        assert_eq!((min, max), (1, count), "rows 1..={count} with no gaps");
        assert!(
            count >= before,
            "every row committed before the snapshot began is in it: {count} < {before}"
        );
        assert!(count <= after, "no row from the future: {count} > {after}");
        seen.push(count);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }

    stop.store(true, Ordering::SeqCst);
    let total = writer.await.unwrap();
    assert!(
        total > seen[0],
        "the writer kept writing while snapshots were taken ({seen:?}, {total})"
    );
    // The pool stays open: the last rows are still in the write-ahead log,
    // not yet checkpointed into gsp.db, and must be in the snapshot anyway.
    assert!(std::fs::metadata(data.join("gsp.db-wal")).unwrap().len() > 0);
    let bytes = archive::snapshot(&data).await.expect("final snapshot");
    let restored = tmp.path().join("restored-final");
    archive::restore(&bytes, &restored).await.expect("restore");
    let (count, min, max) = check_restored_db(&restored.join("gsp.db")).await;
    assert_eq!((count, min, max), (total, 1, total), "every row written");
    assert!(!restored.join("gsp.db-wal").exists());
    assert!(!restored.join("gsp.db-shm").exists());
    pool.close().await;
}

#[tokio::test]
async fn other_files_round_trip_byte_for_byte() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("world");
    std::fs::create_dir_all(data.join("maps/old")).unwrap();
    std::fs::create_dir_all(data.join("empty")).unwrap();
    let cert = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec();
    let key: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    std::fs::write(data.join("cert.pem"), &cert).unwrap();
    std::fs::write(data.join("key.pem"), &key).unwrap();
    std::fs::write(data.join("maps/old/spawn.bin"), b"\x00\x01\x02spawn").unwrap();
    // Named like a database, but not one: archived as it is.
    std::fs::write(data.join("fake.db"), b"not sqlite at all").unwrap();
    // A stale side file with no meaning outside its database: left out.
    std::fs::write(data.join("fake.db-journal"), b"stale").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data.join("key.pem"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
    // A database without a database's name, found by its header.
    let pool = wal_pool(&data.join("state.bin")).await;
    sqlx::query("CREATE TABLE rows (id INTEGER PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO rows (id) VALUES (1), (2), (3)")
        .execute(&pool)
        .await
        .unwrap();

    let bytes = archive::snapshot(&data).await.expect("snapshot");
    let names = entry_names(&bytes);
    assert_eq!(
        names,
        [
            "./",
            "cert.pem",
            "empty/",
            "fake.db",
            "key.pem",
            "maps/",
            "maps/old/",
            "maps/old/spawn.bin",
            "state.bin",
        ],
        "sorted, each folder before its contents, no side files"
    );
    assert_eq!(
        entry_names(&archive::snapshot(&data).await.unwrap()),
        names,
        "the same order every time"
    );

    let restored = tmp.path().join("restored");
    archive::restore(&bytes, &restored).await.expect("restore");
    assert_eq!(std::fs::read(restored.join("cert.pem")).unwrap(), cert);
    assert_eq!(std::fs::read(restored.join("key.pem")).unwrap(), key);
    assert_eq!(
        std::fs::read(restored.join("maps/old/spawn.bin")).unwrap(),
        b"\x00\x01\x02spawn"
    );
    assert_eq!(
        std::fs::read(restored.join("fake.db")).unwrap(),
        b"not sqlite at all"
    );
    assert!(restored.join("empty").is_dir());
    assert!(!restored.join("fake.db-journal").exists());
    assert_eq!(
        check_restored_db(&restored.join("state.bin")).await,
        (3, 1, 3)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(restored.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the private key stays private");
    }
    pool.close().await;
}

#[tokio::test]
async fn an_empty_data_directory_round_trips() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("empty-world");
    std::fs::create_dir(&data).unwrap();
    let bytes = archive::snapshot(&data).await.expect("snapshot");
    assert_eq!(entry_names(&bytes), ["./"]);
    let restored = tmp.path().join("restored");
    archive::restore(&bytes, &restored).await.expect("restore");
    assert!(tree(&restored).is_empty());
}

#[tokio::test]
async fn snapshot_of_a_missing_directory_is_an_io_error() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("nope");
    let err = archive::snapshot(&missing).await.unwrap_err();
    assert!(matches!(err, ArchiveError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn restore_replaces_the_old_contents() {
    let tmp = TempDir::new().unwrap();
    let source = tmp.path().join("source");
    std::fs::create_dir_all(source.join("sub")).unwrap();
    std::fs::write(source.join("cert.pem"), b"new cert").unwrap();
    std::fs::write(source.join("sub/a.txt"), b"a").unwrap();
    let bytes = archive::snapshot(&source).await.unwrap();

    let data = tmp.path().join("servers/7");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("cert.pem"), b"old cert").unwrap();
    std::fs::write(data.join("old-only.txt"), b"gone after").unwrap();
    std::fs::write(data.join("sub/old.txt"), b"gone too").unwrap();

    archive::restore(&bytes, &data).await.expect("restore");
    assert_eq!(tree(&data), tree(&source));
    assert!(!data.join("old-only.txt").exists());
    assert_eq!(siblings(&data), ["7"], "no temporary folders left behind");

    // Into a folder that does not exist yet, under parents that do not.
    let fresh = tmp.path().join("new/node/servers/8");
    archive::restore(&bytes, &fresh).await.expect("restore");
    assert_eq!(tree(&fresh), tree(&source));
}

#[tokio::test]
async fn bad_archives_change_nothing() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("node/world");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("gsp.db"), b"precious").unwrap();
    std::fs::write(data.join("sub/cert.pem"), b"cert").unwrap();
    let before = tree(&data);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "garbage",
            b"this is not a gzip'd tar".to_vec(),
            "not a gzip'd tar",
        ),
        ("empty gzip", gzip(Vec::new()), "holds no files"),
        (
            "gzip of garbage",
            gzip(vec![0x5a; 2048]),
            "not a gzip'd tar",
        ),
        (
            "truncated",
            {
                let good = archive::snapshot(&data).await.unwrap();
                good[..good.len() / 2].to_vec()
            },
            "",
        ),
        (
            "parent dir",
            archive_with(|tar| {
                tar.append(
                    &raw_header("../evil", tar::EntryType::Regular, 4),
                    &b"evil"[..],
                )
                .unwrap();
            }),
            "`..`",
        ),
        (
            "nested parent dir",
            archive_with(|tar| {
                tar.append(
                    &raw_header("sub/../../evil", tar::EntryType::Regular, 4),
                    &b"evil"[..],
                )
                .unwrap();
            }),
            "`..`",
        ),
        (
            "absolute",
            archive_with(|tar| {
                let abs = tmp.path().join("abs-evil");
                let name = abs.to_str().unwrap().to_string();
                tar.append(&raw_header(&name, tar::EntryType::Regular, 4), &b"evil"[..])
                    .unwrap();
            }),
            "absolute",
        ),
        (
            "symlink",
            archive_with(|tar| {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                tar.append_link(&mut header, "link", "/etc/passwd").unwrap();
            }),
            "symbolic link",
        ),
        (
            "hard link",
            archive_with(|tar| {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                tar.append_link(&mut header, "hard", "good.txt").unwrap();
            }),
            "hard link",
        ),
        (
            "device",
            archive_with(|tar| {
                tar.append(&raw_header("null", tar::EntryType::Char, 0), &b""[..])
                    .unwrap();
            }),
            "device",
        ),
        (
            "duplicate",
            archive_with(|tar| {
                let mut header = tar::Header::new_gnu();
                header.set_size(3);
                tar.append_data(&mut header, "good.txt", &b"two"[..])
                    .unwrap();
            }),
            "appears twice",
        ),
    ];
    for (case, bytes, words) in cases {
        let err = archive::restore(&bytes, &data).await.unwrap_err();
        assert!(
            matches!(err, ArchiveError::BadArchive(_)),
            "{case}: {err:?}"
        );
        assert!(err.to_string().contains(words), "{case}: {err}");
        assert_eq!(tree(&data), before, "{case}: the data directory is intact");
        assert_eq!(siblings(&data), ["world"], "{case}: nothing left beside it");
        assert!(!tmp.path().join("node/evil").exists(), "{case}");
        assert!(!tmp.path().join("evil").exists(), "{case}");
        assert!(!tmp.path().join("abs-evil").exists(), "{case}");
    }

    // A bad archive for a folder that does not exist leaves none behind.
    let absent = tmp.path().join("node/absent");
    let err = archive::restore(b"junk", &absent).await.unwrap_err();
    assert!(matches!(err, ArchiveError::BadArchive(_)), "{err:?}");
    assert!(!absent.exists());
}

#[tokio::test]
async fn an_archive_made_by_hand_with_dot_slash_names_restores() {
    // `tar -C dir -czf x.tar.gz .` names entries ./a, ./sub/b.
    let mut tar = tar::Builder::new(Vec::new());
    for (name, body) in [("./a.txt", &b"a"[..]), ("./sub/b.txt", &b"bb"[..])] {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, body).unwrap();
    }
    let bytes = gzip(tar.into_inner().unwrap());
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("w");
    archive::restore(&bytes, &data).await.expect("restore");
    assert_eq!(std::fs::read(data.join("a.txt")).unwrap(), b"a");
    assert_eq!(std::fs::read(data.join("sub/b.txt")).unwrap(), b"bb");
}
