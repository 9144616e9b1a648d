//! Reading a backup store's URL into where the backups go, without I/O.
//!
//! Accepted forms:
//!
//! - a plain path (`/var/lib/gsp/backups`, `backups`): a local folder;
//! - `file:///abs/dir`: the same, as a URL (absolute paths only);
//! - `s3://bucket` or `s3://bucket/some/prefix` (also `s3a://`): an
//!   S3-compatible bucket, with every backup under the prefix.
//!
//! A string is read as a URL when it has `://` in it; anything else is a
//! path.

use std::path::PathBuf;

use object_store::path::Path as Key;

use crate::backup::BackupError;

/// Where a store's backups go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A folder on this machine.
    Local(PathBuf),
    /// An S3 bucket, with backups under `prefix` (empty: at the root).
    S3 {
        /// The URL as given, for the S3 client (which reads the bucket
        /// from it).
        url: String,
        /// The bucket's name.
        bucket: String,
        /// The key prefix.
        prefix: Key,
    },
}

/// Reads `url` (see the module docs for the forms).
pub(crate) fn parse(url: &str) -> Result<Target, BackupError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(BackupError::BadUrl(
            "it is empty; give a folder, file:///folder or s3://bucket/prefix".into(),
        ));
    }
    if !url.contains("://") {
        return Ok(Target::Local(PathBuf::from(url)));
    }
    let parsed = url::Url::parse(url)
        .map_err(|e| BackupError::BadUrl(format!("{url:?} is not a URL ({e})")))?;
    match parsed.scheme() {
        "file" => {
            let path = parsed.to_file_path().map_err(|()| {
                BackupError::BadUrl(format!(
                    "{url:?} is not a local folder; write file:///absolute/folder"
                ))
            })?;
            Ok(Target::Local(path))
        }
        "s3" | "s3a" => {
            let bucket = parsed.host_str().unwrap_or_default().to_string();
            if bucket.is_empty() {
                return Err(BackupError::BadUrl(format!(
                    "{url:?} names no bucket; write s3://bucket/prefix"
                )));
            }
            if parsed.query().is_some() || parsed.fragment().is_some() {
                return Err(BackupError::BadUrl(format!(
                    "{url:?} has a query or fragment; write s3://bucket/prefix and set options \
                     through AWS_* environment variables"
                )));
            }
            let prefix = Key::from_url_path(parsed.path()).map_err(|e| {
                BackupError::BadUrl(format!("{url:?} has an unusable prefix ({e})"))
            })?;
            Ok(Target::S3 {
                url: url.to_string(),
                bucket,
                prefix,
            })
        }
        other => Err(BackupError::BadUrl(format!(
            "{other}:// stores are not supported; use a folder, file:///folder or \
             s3://bucket/prefix"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_file_urls_are_local() {
        assert_eq!(
            parse("/var/lib/gsp/backups").unwrap(),
            Target::Local("/var/lib/gsp/backups".into())
        );
        assert_eq!(parse(" backups ").unwrap(), Target::Local("backups".into()));
        assert_eq!(
            parse("file:///var/lib/gsp/backups").unwrap(),
            Target::Local("/var/lib/gsp/backups".into())
        );
        assert_eq!(
            parse("file:///tmp/with%20space").unwrap(),
            Target::Local("/tmp/with space".into())
        );
    }

    #[test]
    fn s3_urls_give_bucket_and_prefix() {
        assert_eq!(
            parse("s3://my-bucket").unwrap(),
            Target::S3 {
                url: "s3://my-bucket".into(),
                bucket: "my-bucket".into(),
                prefix: Key::default(),
            }
        );
        let Target::S3 { bucket, prefix, .. } = parse("s3://b/team/backups/").unwrap() else {
            panic!("not s3");
        };
        assert_eq!(bucket, "b");
        assert_eq!(prefix.as_ref(), "team/backups");
        let Target::S3 { prefix, .. } = parse("s3a://b/x").unwrap() else {
            panic!("not s3");
        };
        assert_eq!(prefix.as_ref(), "x");
    }

    #[test]
    fn other_urls_are_refused_clearly() {
        for (url, words) in [
            ("ftp://x", "ftp:// stores are not supported"),
            ("gs://bucket", "gs:// stores are not supported"),
            ("", "empty"),
            ("s3://", "no bucket"),
            ("s3://b/p?region=x", "query"),
            ("file://host/dir", "not a local folder"),
            ("http://[bad", "not a URL"),
        ] {
            let err = parse(url).unwrap_err();
            assert!(matches!(err, BackupError::BadUrl(_)), "{url}: {err:?}");
            assert!(err.to_string().contains(words), "{url}: {err}");
        }
    }
}
