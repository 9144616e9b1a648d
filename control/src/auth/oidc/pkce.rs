//! Random one-time values for a sign-in: the `state`, the `nonce` and the
//! PKCE (RFC 7636) verifier with its S256 challenge.
//!
//! PKCE ties the code the provider hands back to the one who asked for it:
//! the platform sends `BASE64URL(SHA256(verifier))` with the authorization
//! request and the verifier itself with the token request, so a code stolen
//! from the redirect is worth nothing without the verifier, which never
//! left the server.

use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url without padding (43 characters): a state, a
/// nonce or a PKCE verifier (RFC 7636 asks for 43 to 128 characters from
/// this alphabet, with at least 256 bits of entropy).
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(BASE64URL_NOPAD.encode(&bytes))
}

/// The S256 code challenge of `verifier`: `BASE64URL(SHA256(verifier))`.
pub fn challenge_s256(verifier: &str) -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, random_token().unwrap());
    }
}
