//! World backups: the backup store on a local folder (and any object
//! store), with a real snapshot through it and back. The archives
//! themselves are tested with the agent (`agent/tests/archive.rs`).

use std::sync::Arc;

use gsp_agent::archive;
use gsp_control::backup::{BackupError, BackupStore};
use tempfile::TempDir;

// ---------------------------------------------------------------- store

#[tokio::test]
async fn local_store_puts_lists_and_gets() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("backups");
    let store = BackupStore::local(&dir).expect("local store");
    assert!(dir.is_dir(), "created");
    assert_eq!(store.prefix(), "");

    assert!(store.list(1).await.unwrap().is_empty());
    let mut put = Vec::new();
    for body in [vec![1u8; 10], vec![2u8; 20], vec![3u8; 30]] {
        put.push(store.put(1, body).await.expect("put"));
    }
    // Three puts within a millisecond or two still get three names.
    let names: std::collections::BTreeSet<_> = put.iter().map(|i| i.name.clone()).collect();
    assert_eq!(names.len(), 3, "{put:?}");
    for info in &put {
        assert_eq!(info.name, format!("{}.tar.gz", info.created_at_ms));
        let key = dir.join("servers/1").join(&info.name);
        assert!(key.is_file(), "{}", key.display());
    }
    assert!(put[0].created_at_ms < put[1].created_at_ms);
    assert!(put[1].created_at_ms < put[2].created_at_ms);

    let listed = store.list(1).await.unwrap();
    let mut newest_first = put.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    assert_eq!(
        listed.iter().map(|i| i.size).collect::<Vec<_>>(),
        [30, 20, 10]
    );

    assert_eq!(store.get(1, &put[1].name).await.unwrap(), vec![2u8; 20]);

    for bad in ["../x", "a.tar.gz", "", "../../1.tar.gz", "1", "/1.tar.gz"] {
        let err = store.get(1, bad).await.unwrap_err();
        assert!(
            matches!(err, BackupError::BadName(ref n) if n == bad),
            "{bad:?}: {err:?}"
        );
    }
    let err = store.get(1, "123.tar.gz").await.unwrap_err();
    assert!(
        matches!(err, BackupError::NotFound { server_id: 1, ref name } if name == "123.tar.gz"),
        "{err:?}"
    );

    // Server 2's backups are its own; server 1's are not among them.
    let other = store.put(2, b"two".to_vec()).await.unwrap();
    assert_eq!(store.list(2).await.unwrap(), std::slice::from_ref(&other));
    assert_eq!(store.list(1).await.unwrap().len(), 3);
    let err = store.get(2, &put[0].name).await.unwrap_err();
    assert!(
        matches!(err, BackupError::NotFound { server_id: 2, .. }),
        "{err:?}"
    );
    // Nor does server 10 see server 1's (prefixes match whole segments).
    assert!(store.list(10).await.unwrap().is_empty());

    // Stray objects in a server's folder are not backups.
    std::fs::write(dir.join("servers/1/notes.txt"), b"x").unwrap();
    std::fs::create_dir_all(dir.join("servers/1/deeper")).unwrap();
    std::fs::write(dir.join("servers/1/deeper/5.tar.gz"), b"x").unwrap();
    assert_eq!(store.list(1).await.unwrap().len(), 3);

    // Deleting one, then all of a server's.
    store.delete(1, &put[0].name).await.expect("delete");
    assert_eq!(store.list(1).await.unwrap().len(), 2);
    let err = store.delete(1, &put[0].name).await.unwrap_err();
    assert!(matches!(err, BackupError::NotFound { .. }), "{err:?}");
    assert!(matches!(
        store.delete(1, "../2").await.unwrap_err(),
        BackupError::BadName(_)
    ));
    let deleted = store.delete_all(1).await.expect("delete_all");
    assert_eq!(deleted, 4, "two backups and two stray objects");
    assert!(store.list(1).await.unwrap().is_empty());
    assert_eq!(store.list(2).await.unwrap(), [other], "server 2 untouched");
    assert_eq!(store.delete_all(99).await.unwrap(), 0);
}

#[tokio::test]
async fn a_snapshot_goes_through_the_store_and_back() {
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("world");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("cert.pem"), b"cert").unwrap();
    let store = BackupStore::local(&tmp.path().join("backups")).unwrap();
    let info = store
        .put(5, archive::snapshot(&data).await.unwrap())
        .await
        .unwrap();
    std::fs::write(data.join("cert.pem"), b"changed").unwrap();
    let bytes = store.get(5, &info.name).await.unwrap();
    assert_eq!(bytes.len() as u64, info.size);
    archive::restore(&bytes, &data).await.unwrap();
    assert_eq!(std::fs::read(data.join("cert.pem")).unwrap(), b"cert");
}

#[tokio::test]
async fn a_store_over_any_object_store_keeps_its_prefix() {
    let memory = Arc::new(object_store::memory::InMemory::new());
    let store = BackupStore::new(memory.clone(), "/team/backups/").unwrap();
    assert_eq!(store.prefix(), "team/backups");
    let info = store.put(3, b"abc".to_vec()).await.unwrap();
    use object_store::ObjectStoreExt;
    let key = object_store::path::Path::from(format!("team/backups/servers/3/{}", info.name));
    assert_eq!(memory.head(&key).await.unwrap().size, 3);
    assert_eq!(store.list(3).await.unwrap(), [info]);
    assert!(matches!(
        BackupStore::new(memory, "a/../b").unwrap_err(),
        BackupError::BadUrl(_)
    ));
}

#[tokio::test]
async fn from_url_reads_folders_and_buckets() {
    let tmp = TempDir::new().unwrap();

    let dir = tmp.path().join("by-url");
    let url = format!("file://{}", dir.display());
    let store = BackupStore::from_url(&url).expect("file URL");
    let info = store.put(1, b"x".to_vec()).await.unwrap();
    assert!(dir.join("servers/1").join(&info.name).is_file(), "{url}");

    let dir = tmp.path().join("by-path");
    let store = BackupStore::from_url(dir.to_str().unwrap()).expect("plain path");
    let info = store.put(1, b"y".to_vec()).await.unwrap();
    assert!(dir.join("servers/1").join(&info.name).is_file());

    // Built without any network: the first request would reach out.
    let s3 = BackupStore::from_url("s3://bucket/prefix").expect("s3 URL");
    assert_eq!(s3.prefix(), "prefix");
    assert_eq!(
        format!("{s3:?}"),
        r#"BackupStore { store: AmazonS3(bucket), prefix: "prefix" }"#
    );
    let s3 = BackupStore::from_url("s3://bucket").expect("s3 URL without prefix");
    assert_eq!(s3.prefix(), "");

    for url in ["ftp://x", "gs://bucket/x", "s3://", ""] {
        let err = BackupStore::from_url(url).unwrap_err();
        assert!(matches!(err, BackupError::BadUrl(_)), "{url}: {err:?}");
    }
    let err = BackupStore::from_url("ftp://x").unwrap_err();
    assert!(err.to_string().contains("ftp://"), "{err}");
}

#[test]
fn backup_info_serialises_as_documented() {
    let info = gsp_control::backup::BackupInfo {
        name: "1700000000123.tar.gz".into(),
        size: 42,
        created_at_ms: 1_700_000_000_123,
    };
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "name": "1700000000123.tar.gz",
            "size": 42,
            "created_at_ms": 1_700_000_000_123_i64,
        })
    );
    let back: gsp_control::backup::BackupInfo = serde_json::from_value(json).unwrap();
    assert_eq!(back, info);
}
