//! Small helpers for the portable SQL the stores build: multi-row
//! placeholders, chunk sizes, timestamps, text checks.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use gsp_store::Backend;
use gsp_store::StoreError;

/// Bind parameters per statement, under SQLite's limit (32,766) and
/// PostgreSQL's (65,535).
const MAX_BINDS: usize = 30_000;

/// Rows per multi-row statement with `columns` parameters each (at most
/// 1,000, which is past the point where bigger statements help).
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (MAX_BINDS / columns.max(1)).clamp(1, 1_000)
}

/// How generated statements write their bind parameters.
///
/// Hand-written queries use `$1`, which both backends accept. Generated
/// multi-row statements have thousands of parameters, and SQLite looks a
/// named parameter (`$N`) up by name in a list, both when preparing and when
/// binding (sqlx asks each parameter's name): quadratic, about 7 s to save
/// 10,000 entities. Anonymous `?` parameters are bound by position, so
/// SQLite gets those; PostgreSQL only understands `$N`. One statement uses
/// one style throughout (sqlx numbers `?` apart from `$N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params(pub(crate) Backend);

impl Params {
    /// Parameter number `n` (counting from 1).
    pub(crate) fn one(self, n: usize) -> String {
        match self.0 {
            Backend::Sqlite => "?".to_string(),
            Backend::Postgres => format!("${n}"),
        }
    }

    /// `$2, $3, $4` for a list of 3 numbered from `$2`.
    pub(crate) fn list(self, first: usize, n: usize) -> String {
        let mut out = String::with_capacity(n * 6);
        for i in 0..n {
            if i > 0 {
                out.push_str(", ");
            }
            match self.0 {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    let _ = write!(out, "${}", first + i);
                }
            }
        }
        out
    }

    /// `($1, $2), ($3, $4)` for 2 rows of 2 columns, numbering from `$first`.
    pub(crate) fn rows(self, first: usize, rows: usize, columns: usize) -> String {
        let mut out = String::with_capacity(rows * (columns * 6 + 4));
        for r in 0..rows {
            if r > 0 {
                out.push_str(", ");
            }
            out.push('(');
            out.push_str(&self.list(first + r * columns, columns));
            out.push(')');
        }
        out
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Refuses text PostgreSQL cannot store (NUL characters), on both backends
/// alike. `what` names it for the error.
pub(crate) fn check_text(what: &str, text: &str) -> Result<(), StoreError> {
    if text.contains('\0') {
        Err(StoreError::Invalid(format!(
            "{what} {text:?}: it contains a NUL character"
        )))
    } else {
        Ok(())
    }
}

/// `f32` as stored (DOUBLE PRECISION holds every `f32` exactly).
pub(crate) fn f(x: f32) -> f64 {
    f64::from(x)
}

/// A stored float back; `NULL` (what SQLite makes of NaN) reads as NaN.
pub(crate) fn unf(x: Option<f64>) -> f32 {
    x.map_or(f32::NAN, |x| x as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_order() {
        let pg = Params(Backend::Postgres);
        assert_eq!(pg.rows(1, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(pg.rows(3, 1, 1), "($3)");
        assert_eq!(pg.list(2, 3), "$2, $3, $4");
        assert_eq!(pg.one(7), "$7");
        let lite = Params(Backend::Sqlite);
        assert_eq!(lite.rows(1, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(lite.list(2, 3), "?, ?, ?");
        assert_eq!(lite.one(7), "?");
    }

    #[test]
    fn chunks_stay_under_the_bind_limit() {
        for columns in [1, 2, 8, 22, 40, 31_000] {
            let rows = rows_per_statement(columns);
            assert!(rows >= 1);
            assert!(rows * columns <= 32_766 || rows == 1, "{columns} columns");
        }
    }

    #[test]
    fn nul_is_refused() {
        assert!(check_text("key", "a\0b").is_err());
        assert!(check_text("key", "football:ball").is_ok());
    }
}
