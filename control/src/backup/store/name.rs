//! How backups are named and where they live in a store, without I/O.
//!
//! A backup of server `7` taken at Unix time `1700000000123` ms is the
//! object `<prefix>/servers/7/1700000000123.tar.gz`. Its name
//! (`1700000000123.tar.gz`) is all a user ever sees or sends back, so it is
//! checked strictly: decimal digits in canonical form (no sign, no leading
//! zeros) and the `.tar.gz` suffix, nothing else — no path can hide in it.

use object_store::path::Path as Key;

/// The suffix of every backup name.
pub(crate) const SUFFIX: &str = ".tar.gz";

/// The name of a backup taken at `created_at_ms`.
pub(crate) fn name_for(created_at_ms: i64) -> String {
    format!("{created_at_ms}{SUFFIX}")
}

/// The creation time a backup name stands for, or `None` if `name` is not
/// a backup name.
pub(crate) fn parse(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: i64 = digits.parse().ok()?;
    // Canonical only: "007.tar.gz" would be a second name for 7.tar.gz.
    (name_for(ms) == name).then_some(ms)
}

/// The folder of server `server_id`'s backups under `prefix`.
pub(crate) fn server_dir(prefix: &Key, server_id: i64) -> Key {
    prefix.clone().join("servers").join(server_id.to_string())
}

/// Where the backup `name` of server `server_id` is kept.
pub(crate) fn key(prefix: &Key, server_id: i64, name: &str) -> Key {
    server_dir(prefix, server_id).join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for ms in [0, 7, 1_700_000_000_123, i64::MAX] {
            assert_eq!(parse(&name_for(ms)), Some(ms));
        }
    }

    #[test]
    fn anything_else_is_not_a_name() {
        for bad in [
            "",
            ".tar.gz",
            "a.tar.gz",
            "../x",
            "1.tar",
            "1.tar.gz/",
            "1/2.tar.gz",
            "-1.tar.gz",
            "+1.tar.gz",
            "007.tar.gz",
            " 1.tar.gz",
            "1.TAR.GZ",
            "99999999999999999999.tar.gz",
            "１.tar.gz",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_are_per_server_under_the_prefix() {
        let root = Key::default();
        assert_eq!(key(&root, 7, "5.tar.gz").as_ref(), "servers/7/5.tar.gz");
        let prefix = Key::from("team/backups");
        assert_eq!(
            key(&prefix, 12, "5.tar.gz").as_ref(),
            "team/backups/servers/12/5.tar.gz"
        );
        assert_eq!(server_dir(&prefix, 1).as_ref(), "team/backups/servers/1");
    }
}
