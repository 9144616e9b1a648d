//! What can go wrong with a snapshot or a restore, in words a user can act
//! on.

/// A snapshot could not be made, or an archive could not be restored.
///
/// Every variant's message is fit to show to the user who asked; the
/// [`ArchiveError::Io`] one also says which path or step failed, for the
/// operator.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive cannot be restored: not a gzip'd tar, or an entry that
    /// would land outside the data directory or is not a plain file or
    /// folder. Nothing was changed.
    #[error("the backup archive cannot be restored: {0}")]
    BadArchive(String),
    /// A file or directory operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite could not copy a database.
    #[error("copying a database failed: {0}")]
    Database(String),
}

impl ArchiveError {
    /// An [`ArchiveError::Io`] that says what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// A panicked or cancelled blocking task, as an error rather than a
    /// panic in the caller.
    pub(crate) fn worker(what: &str, err: tokio::task::JoinError) -> Self {
        Self::io(
            format!("{what}: the worker thread stopped"),
            std::io::Error::other(err.to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_failed() {
        let e = ArchiveError::BadArchive("x is a symbolic link".into());
        assert_eq!(
            e.to_string(),
            "the backup archive cannot be restored: x is a symbolic link"
        );
        let e = ArchiveError::io(
            "reading /data",
            std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        );
        assert_eq!(e.to_string(), "reading /data: gone");
    }
}
