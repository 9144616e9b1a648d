//! Random secrets: 32 random bytes, printed as a prefix (`gsp_rt_` for a
//! world's resume tokens, `gsp_ak_` for the platform's API keys...) and 64
//! hex digits. Stores keep only their SHA-256, so a leaked database yields
//! no usable secret.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// A new random secret: `prefix` and 64 hex digits (32 random bytes).
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
    fn digest_is_sha256_hex() {
        // SHA-256("abc"), from FIPS 180-2.
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
