//! Small helpers for the portable SQL the stores build: multi-row
//! placeholders, chunk sizes, timestamps, text checks.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::StoreError;

/// Bind parameters per statement, under SQLite's limit (32,766) and
/// PostgreSQL's (65,535).
const MAX_BINDS: usize = 30_000;

/// Rows per multi-row statement with `columns` parameters each (at most
/// 1,000, which is past the point where bigger statements help).
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (MAX_BINDS / columns.max(1)).clamp(1, 1_000)
}

/// `($1, $2), ($3, $4)` for 2 rows of 2 columns, numbering from `$first`.
pub(crate) fn row_placeholders(first: usize, rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 6);
    let mut n = first;
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "${n}");
            n += 1;
        }
        out.push(')');
    }
    out
}

/// `$2, $3, $4` for a list of 3 numbered from `$2`.
pub(crate) fn list_placeholders(first: usize, n: usize) -> String {
    let mut out = String::with_capacity(n * 6);
    for i in 0..n {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "${}", first + i);
    }
    out
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
        assert_eq!(row_placeholders(1, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(row_placeholders(3, 1, 1), "($3)");
        assert_eq!(list_placeholders(2, 3), "$2, $3, $4");
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
