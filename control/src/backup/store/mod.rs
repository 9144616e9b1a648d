//! Where backups are kept: a local folder or an S3-compatible bucket,
//! behind one [`BackupStore`].
//!
//! Layout: each server has a folder, and each backup is one object named
//! after the millisecond it was stored:
//!
//! ```text
//! <prefix>/servers/<server_id>/<created_at_ms>.tar.gz
//! ```
//!
//! so listing a server's backups is listing its folder, and a backup's
//! name (`1700000000123.tar.gz`) is also its creation time. Names that
//! users send back are checked strictly (see [`BackupStore::get`]), so no
//! path can be smuggled through one.
//!
//! Which store is used is a URL ([`BackupStore::from_url`]): a folder
//! (`/var/lib/gsp/backups` or `file:///var/lib/gsp/backups`), or
//! `s3://bucket/prefix` with the connection taken from the standard
//! environment variables — `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, and for S3-compatible stores such as MinIO
//! `AWS_ENDPOINT=http://127.0.0.1:9000` with `AWS_ALLOW_HTTP=true`.
//! Building a store does not touch the network; the first request does.

mod connector;
mod location;
mod name;

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::backup::BackupError;

/// One stored backup, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BackupInfo {
    /// Its name, `<created_at_ms>.tar.gz`: what [`BackupStore::get`] takes.
    pub name: String,
    /// Its size in bytes (of the gzip'd archive).
    pub size: u64,
    /// When it was stored, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

/// The most names [`BackupStore::put`] tries when the current millisecond
/// is taken (each try moves one millisecond on).
const MAX_NAME_TRIES: i64 = 1000;

/// A place to keep backups: a local folder or an S3-compatible bucket,
/// with every key under a prefix. Cheap to clone (the client is shared).
///
/// Its `Debug` shows which store and prefix (`AmazonS3(bucket)`,
/// `LocalFileSystem(file:///…)`), never the client's settings.
#[derive(Clone)]
pub struct BackupStore {
    inner: Arc<dyn ObjectStore>,
    prefix: Key,
}

impl std::fmt::Debug for BackupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupStore")
            .field("store", &format_args!("{}", self.inner))
            .field("prefix", &self.prefix.as_ref())
            .finish()
    }
}

impl BackupStore {
    /// A store in the local folder `dir`, created if missing. Writes are
    /// synced to disk before they count as done.
    ///
    /// # Errors
    ///
    /// [`BackupError::Io`] if the folder cannot be created;
    /// [`BackupError::Store`] if it cannot be used.
    pub fn local(dir: &Path) -> Result<BackupStore, BackupError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            BackupError::io(format!("creating the backup folder {}", dir.display()), e)
        })?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| store_err(format!("opening the backup folder {}", dir.display()), e))?
            .with_automatic_cleanup(true)
            .with_fsync(true);
        Ok(BackupStore {
            inner: Arc::new(fs),
            prefix: Key::default(),
        })
    }

    /// A store from its URL: a plain path or `file:///abs/dir` for a local
    /// folder (as [`BackupStore::local`]), or `s3://bucket/optional/prefix`
    /// for an S3-compatible bucket configured from the `AWS_*` environment
    /// variables (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`BackupError::BadUrl`] for any other scheme or a malformed URL;
    /// otherwise as [`BackupStore::local`], or [`BackupError::Store`] if the
    /// S3 settings are unusable.
    pub fn from_url(url: &str) -> Result<BackupStore, BackupError> {
        match location::parse(url)? {
            location::Target::Local(dir) => BackupStore::local(&dir),
            location::Target::S3 {
                url,
                bucket,
                prefix,
            } => {
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(&url)
                    .with_http_connector(connector::RingConnector)
                    .build()
                    .map_err(|e| store_err(format!("setting up the S3 bucket {bucket:?}"), e))?;
                Ok(BackupStore {
                    inner: Arc::new(s3),
                    prefix,
                })
            }
        }
    }

    /// A store over any [`ObjectStore`] (an in-memory one in tests, a
    /// client configured by hand), with every key under `prefix` (`""` for
    /// none).
    ///
    /// # Errors
    ///
    /// [`BackupError::BadUrl`] if `prefix` is not a valid key prefix (for
    /// example if it has `..` in it).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<BackupStore, BackupError> {
        let prefix = Key::parse(prefix.trim_matches('/'))
            .map_err(|e| BackupError::BadUrl(format!("the prefix {prefix:?} is unusable ({e})")))?;
        Ok(BackupStore {
            inner: store,
            prefix,
        })
    }

    /// The prefix every key is under (`""` for none), without slashes at
    /// either end.
    pub fn prefix(&self) -> &str {
        self.prefix.as_ref()
    }

    /// Stores `archive` as a new backup of `server_id`, named after the
    /// current millisecond (or the next free one, so two backups never
    /// share a name), and says what was stored.
    ///
    /// # Errors
    ///
    /// [`BackupError::Store`] if the store fails.
    pub async fn put(&self, server_id: i64, archive: Vec<u8>) -> Result<BackupInfo, BackupError> {
        let size = archive.len() as u64;
        let payload = PutPayload::from(archive);
        let start = now_ms();
        for created_at_ms in start..start.saturating_add(MAX_NAME_TRIES) {
            let name = name::name_for(created_at_ms);
            let key = name::key(&self.prefix, server_id, &name);
            if self
                .create(&key, payload.clone())
                .await
                .map_err(|e| store_err(format!("storing backup {name} of server {server_id}"), e))?
            {
                tracing::info!(server_id, name, size, "backup stored");
                return Ok(BackupInfo {
                    name,
                    size,
                    created_at_ms,
                });
            }
        }
        Err(BackupError::Store(format!(
            "storing a backup of server {server_id}: no free name in {MAX_NAME_TRIES} ms"
        )))
    }

    /// Writes `payload` at `key` unless something is there already: true if
    /// written. Stores without conditional writes (S3 with them turned
    /// off) get a check then a write, which is enough for names that one
    /// platform hands out.
    async fn create(&self, key: &Key, payload: PutPayload) -> object_store::Result<bool> {
        match self
            .inner
            .put_opts(key, payload.clone(), PutMode::Create.into())
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(object_store::Error::NotImplemented { .. }) => {
                match self.inner.head(key).await {
                    Ok(_) => return Ok(false),
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
                self.inner.put(key, payload).await.map(|_| true)
            }
            Err(e) => Err(e),
        }
    }

    /// The backups of `server_id`, newest first. A server without backups
    /// has an empty list. Objects in its folder that are not backups (by
    /// their names) are left out.
    ///
    /// # Errors
    ///
    /// [`BackupError::Store`] if the store fails.
    pub async fn list(&self, server_id: i64) -> Result<Vec<BackupInfo>, BackupError> {
        let dir = name::server_dir(&self.prefix, server_id);
        let depth = dir.parts_count() + 1;
        let metas: Vec<_> = self
            .inner
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| store_err(format!("listing the backups of server {server_id}"), e))?;
        let mut infos: Vec<BackupInfo> = metas
            .into_iter()
            .filter(|meta| meta.location.parts_count() == depth)
            .filter_map(|meta| {
                let name = meta.location.filename()?.to_string();
                let created_at_ms = name::parse(&name)?;
                Some(BackupInfo {
                    name,
                    size: meta.size,
                    created_at_ms,
                })
            })
            .collect();
        infos.sort_by_key(|info| std::cmp::Reverse(info.created_at_ms));
        Ok(infos)
    }

    /// The archive of backup `name` of `server_id`.
    ///
    /// # Errors
    ///
    /// [`BackupError::BadName`] unless `name` is a backup name
    /// (`<digits>.tar.gz`, as [`BackupInfo::name`]); [`BackupError::NotFound`]
    /// if the server has no such backup; [`BackupError::Store`] if the store
    /// fails.
    pub async fn get(&self, server_id: i64, name: &str) -> Result<Vec<u8>, BackupError> {
        let key = self.key_for(server_id, name)?;
        let not_found = || BackupError::NotFound {
            server_id,
            name: name.to_string(),
        };
        let context = || format!("reading backup {name} of server {server_id}");
        let got = match self.inner.get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Err(not_found()),
            Err(e) => return Err(store_err(context(), e)),
        };
        let bytes = got.bytes().await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => not_found(),
            e => store_err(context(), e),
        })?;
        Ok(bytes.to_vec())
    }

    /// Deletes backup `name` of `server_id`.
    ///
    /// # Errors
    ///
    /// As [`BackupStore::get`].
    pub async fn delete(&self, server_id: i64, name: &str) -> Result<(), BackupError> {
        let key = self.key_for(server_id, name)?;
        // Deleting a missing object succeeds on S3, so ask first.
        match self.inner.head(&key).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => {
                return Err(BackupError::NotFound {
                    server_id,
                    name: name.to_string(),
                })
            }
            Err(e) => {
                return Err(store_err(
                    format!("reading backup {name} of server {server_id}"),
                    e,
                ))
            }
        }
        self.inner
            .delete(&key)
            .await
            .map_err(|e| store_err(format!("deleting backup {name} of server {server_id}"), e))?;
        tracing::info!(server_id, name, "backup deleted");
        Ok(())
    }

    /// Deletes every backup of `server_id` (when the server itself is
    /// deleted), and anything else in its folder. Returns how many objects
    /// were deleted; none is not an error.
    ///
    /// # Errors
    ///
    /// [`BackupError::Store`] if the store fails; what was deleted before
    /// stays deleted.
    pub async fn delete_all(&self, server_id: i64) -> Result<usize, BackupError> {
        let dir = name::server_dir(&self.prefix, server_id);
        let context = || format!("deleting the backups of server {server_id}");
        let locations = self
            .inner
            .list(Some(&dir))
            .map_ok(|meta| meta.location)
            .boxed();
        let deleted: Vec<Key> = self
            .inner
            .delete_stream(locations)
            .try_collect()
            .await
            .map_err(|e| store_err(context(), e))?;
        tracing::info!(server_id, deleted = deleted.len(), "backups deleted");
        Ok(deleted.len())
    }

    fn key_for(&self, server_id: i64, name: &str) -> Result<Key, BackupError> {
        if name::parse(name).is_none() {
            return Err(BackupError::BadName(name.to_string()));
        }
        Ok(name::key(&self.prefix, server_id, name))
    }
}

fn store_err(context: String, e: object_store::Error) -> BackupError {
    BackupError::Store(format!("{context}: {e}"))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
