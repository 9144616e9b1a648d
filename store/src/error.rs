//! The stores' error type.

use std::path::PathBuf;

/// Why a store operation failed. Messages name what was being done; database
/// URLs in them have their password removed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no backend this crate supports.
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Connecting (or preparing a new connection) failed.
    #[error("cannot open the database {url}: {source}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The embedded migrations could not be applied.
    #[error("cannot migrate the database {url}: {source}")]
    Migrate {
        /// The URL, without its password.
        url: String,
        /// The migrator's error.
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("{context}: {source}")]
    Query {
        /// What was being done ("saving entities").
        context: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The data handed to the store cannot be stored; nothing was written.
    #[error("cannot store {0}")]
    Invalid(String),
    /// A write took too long and was abandoned (rolled back).
    #[error("the write took longer than {0:?} and was abandoned")]
    TimedOut(std::time::Duration),
    /// A stored row could not be read back.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
}

impl StoreError {
    /// A `map_err` adapter for query errors: `.map_err(StoreError::query("loading entities"))`.
    pub fn query(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Query { context, source }
    }

    /// Whether the error is a unique-constraint violation (an `INSERT` of a
    /// key that exists).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Query {
                source: sqlx::Error::Database(e),
                ..
            } => e.is_unique_violation(),
            _ => false,
        }
    }
}

/// `url` without the password of its user-info part, for messages and logs.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://gsp:s3cret@db:5432/gsp?sslmode=disable"),
            "postgres://gsp:***@db:5432/gsp?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact_url("sqlite:///data/gsp.db?mode=rwc"),
            "sqlite:///data/gsp.db?mode=rwc"
        );
    }
}
