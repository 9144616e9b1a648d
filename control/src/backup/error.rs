//! What can go wrong with the backup store, in words a user can act on.
//! (Making and unpacking archives fails with the agent's own error; the
//! platform sees those through the agent's API.)

/// A backup could not be stored, found or listed.
///
/// Every variant's message is fit to show to the user who asked; the
/// [`BackupError::Io`] and [`BackupError::Store`] ones also say which path
/// or step failed, for the operator.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No backup of that name exists for that server.
    #[error("server {server_id} has no backup named {name:?}")]
    NotFound {
        /// The server asked about.
        server_id: i64,
        /// The backup name asked for.
        name: String,
    },
    /// The name is not one a backup can have (`<digits>.tar.gz`).
    #[error("{0:?} is not a backup name (backup names look like 1700000000000.tar.gz)")]
    BadName(String),
    /// The backup store's URL is not one this platform can use.
    #[error("unusable backup store URL: {0}")]
    BadUrl(String),
    /// A file or directory operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The backup store failed (unreachable, refused, misconfigured).
    #[error("the backup store failed: {0}")]
    Store(String),
}

impl BackupError {
    /// An [`BackupError::Io`] that says what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_failed() {
        let e = BackupError::NotFound {
            server_id: 3,
            name: "1.tar.gz".into(),
        };
        assert_eq!(e.to_string(), "server 3 has no backup named \"1.tar.gz\"");
        let e = BackupError::BadName("../x".into());
        assert!(e.to_string().starts_with("\"../x\" is not a backup name"));
        let e = BackupError::io(
            "reading /data",
            std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        );
        assert_eq!(e.to_string(), "reading /data: gone");
    }
}
