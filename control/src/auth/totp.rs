//! Time-based one-time passwords (RFC 6238): HMAC-SHA1, 30-second steps,
//! six digits — what every authenticator app speaks. Plain functions of a
//! secret and a time, tested against the RFC's own vectors.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that are still accepted (clock drift).
pub const SKEW_STEPS: u64 = 1;

/// A new random secret (20 bytes, as RFC 4226 recommends), in base32 as
/// authenticator apps take it.
pub fn generate_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)?;
    Ok(data_encoding::BASE32_NOPAD.encode(&bytes))
}

/// The secret's bytes, from base32 (spaces and case ignored); `None` if
/// it is not base32.
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let cleaned: String = secret
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD.decode(cleaned.as_bytes()).ok()
}

/// The code for time step `step` (RFC 4226's HOTP with the step as counter).
pub fn code_at_step(key: &[u8], step: u64) -> u32 {
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(key) else {
        // HMAC takes keys of any length; this cannot happen.
        return u32::MAX;
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// The time step of `unix_secs`.
pub fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// Checks `code` (as typed: spaces allowed) against the steps around
/// `unix_secs`, refusing steps at or before `last_used` (a code works
/// once). Returns the step it matched, to be remembered as the new
/// `last_used`.
pub fn verify(key: &[u8], code: &str, unix_secs: u64, last_used: Option<u64>) -> Option<u64> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let typed: u32 = digits.parse().ok()?;
    let now = step_of(unix_secs);
    (now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS)
        .filter(|step| last_used.is_none_or(|used| *step > used))
        .find(|&step| code_at_step(key, step) == typed)
}

/// The `otpauth://` URI an authenticator app scans (as a QR code) or takes
/// pasted.
pub fn provisioning_uri(issuer: &str, account: &str, secret: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1: the secret is "12345678901234567890" and
    /// the codes are the last six of the eight digits listed.
    #[test]
    fn rfc_6238_vectors() {
        let key = b"12345678901234567890";
        for (t, code) in [
            (59u64, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(code_at_step(key, step_of(t)), code % 1_000_000, "t={t}");
        }
    }

    #[test]
    fn verification_allows_drift_refuses_replays_and_junk() {
        let secret = generate_secret().unwrap();
        let key = decode_secret(&secret).unwrap();
        let now = 1_700_000_000;
        let code = format!("{:06}", code_at_step(&key, step_of(now)));
        let step = verify(&key, &code, now, None).expect("current code");
        assert_eq!(step, step_of(now));
        // The same code again: refused.
        assert_eq!(verify(&key, &code, now, Some(step)), None);
        // One step late is fine, two is not.
        let previous = format!("{:06}", code_at_step(&key, step_of(now) - 1));
        assert!(verify(&key, &previous, now, None).is_some());
        let older = format!("{:06}", code_at_step(&key, step_of(now) - 2));
        assert_eq!(verify(&key, &older, now, None), None);
        // Spaces are fine; letters and wrong lengths are not.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(verify(&key, &spaced, now, None).is_some());
        assert_eq!(verify(&key, "12a456", now, None), None);
        assert_eq!(verify(&key, "12345", now, None), None);
    }

    #[test]
    fn secrets_round_trip_and_uris_escape() {
        let secret = generate_secret().unwrap();
        assert_eq!(decode_secret(&secret).unwrap().len(), 20);
        assert_eq!(
            decode_secret(&secret.to_lowercase()),
            decode_secret(&secret)
        );
        assert!(decode_secret("not base32!").is_none());
        let uri = provisioning_uri("GSP", "ada@example.com", "ABC");
        assert!(uri.starts_with("otpauth://totp/GSP:ada%40example.com?secret=ABC&issuer=GSP"));
    }
}
