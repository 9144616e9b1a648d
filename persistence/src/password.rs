//! The rules a world account's new password must meet; hashing is
//! [`gsp_store::password`]'s.

use gsp_engine::AccountError;
pub use gsp_store::password::{dummy_hash, hash, too_long, verify};
use gsp_store::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

/// Checks a new password against the rules: 8 to 128 characters, and not
/// the account's name (in any capitalisation).
pub(crate) fn check_new(name: &str, password: &str) -> Result<(), AccountError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(AccountError::WeakPassword(format!(
            "passwords are {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )));
    }
    if password.eq_ignore_ascii_case(name) {
        return Err(AccountError::WeakPassword(
            "the password must not be the name".to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(check_new("alice", "correct horse").is_ok());
        assert!(matches!(
            check_new("alice", "short"),
            Err(AccountError::WeakPassword(_))
        ));
        assert!(check_new("alice", &"x".repeat(128)).is_ok());
        assert!(check_new("alice", &"x".repeat(129)).is_err());
        // Characters, not bytes: 8 two-byte characters are enough.
        assert!(check_new("alice", "éééééééé").is_ok());
        assert!(matches!(
            check_new("Benjamin", "bENJAMIN"),
            Err(AccountError::WeakPassword(m)) if m.contains("name")
        ));
    }
}
