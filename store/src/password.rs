//! Password lengths and argon2id hashing, for world accounts and for the
//! platform's users alike. Hashing is slow on purpose (tens of
//! milliseconds): callers run these functions on a blocking thread.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Whether `password` is too long to be any account's (so that verifying it
/// is pointless): more bytes than the longest password can have.
pub fn too_long(password: &str) -> bool {
    password.len() > MAX_PASSWORD_CHARS * 4
}

/// An argon2id PHC string for `password`, with a random salt and the
/// crate's default parameters.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches the PHC string `hash`. A malformed hash
/// matches nothing (and is logged).
pub fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "a stored password hash is malformed");
            false
        }
    }
}

/// A hash with the same parameters as real ones, to verify against when the
/// name is unknown: the answer then takes as long as for a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password_with_salt(b"no such account", b"gsp-dummy-salt-0")
            .map(|h| h.to_string())
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot compute the dummy password hash");
                String::new()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsE", &h));
        assert!(!verify("correct horse", "not a hash"));
        // Salted: the same password hashes differently.
        assert_ne!(h, hash("correct horse").expect("hash"));
    }

    #[test]
    fn the_dummy_hash_has_the_real_parameters() {
        let real = hash("whatever1").expect("hash");
        let params = |h: &str| h.split('$').nth(3).map(str::to_string);
        assert_eq!(params(dummy_hash()), params(&real));
        assert!(!verify("no such account", "") && !dummy_hash().is_empty());
    }
}
