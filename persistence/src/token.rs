//! Random secrets: 32 random bytes, printed as a prefix (`gsp_rt_` for
//! resume tokens) and 64 hex digits. Stores keep only their SHA-256, so a
//! leaked database yields no usable secret.

use std::fmt::Write as _;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// What every resume token starts with.
pub const TOKEN_PREFIX: &str = "gsp_rt_";
/// How long a resume token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A new random resume token.
pub(crate) fn generate() -> Result<String, getrandom::Error> {
    generate_with(TOKEN_PREFIX)
}

/// A new random secret: `prefix` and 64 hex digits (32 random bytes). The
/// platform's session tokens and API keys are made the same way.
pub fn generate_with(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let mut token = String::with_capacity(prefix.len() + 64);
    token.push_str(prefix);
    for b in bytes {
        let _ = write!(token, "{b:02x}");
    }
    Ok(token)
}

/// Whether `token` looks like a resume token (prefix and 64 lowercase hex digits).
pub(crate) fn well_formed(token: &str) -> bool {
    well_formed_with(token, TOKEN_PREFIX)
}

/// Whether `token` is `prefix` and 64 lowercase hex digits.
pub fn well_formed_with(token: &str, prefix: &str) -> bool {
    token.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The stored form: SHA-256 of the whole token, in hex.
pub fn digest(token: &str) -> String {
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(token.as_bytes()) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_printable_and_recognised() {
        let a = generate().expect("random");
        let b = generate().expect("random");
        assert_ne!(a, b);
        assert!(a.starts_with("gsp_rt_") && a.len() == 7 + 64, "{a}");
        assert!(well_formed(&a));
        assert!(!well_formed(&a[..a.len() - 1]));
        assert!(!well_formed(&a.to_uppercase()));
        assert!(!well_formed("gsp_rt_"));
        assert!(!well_formed(&a.replace("gsp_rt_", "gsp_xx_")));
    }

    #[test]
    fn digest_is_sha256_hex() {
        // SHA-256("abc"), from FIPS 180-2.
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
