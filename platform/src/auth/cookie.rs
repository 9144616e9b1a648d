//! The session cookie: its name, its attributes, and reading it back from
//! a `Cookie` header.

use std::time::Duration;

/// The cookie's name. The `__Host-` prefix makes browsers insist on
/// `Secure`, `Path=/` and no `Domain`, so a sibling site cannot set it.
pub const SECURE_NAME: &str = "__Host-gsp_session";
/// The name over plain HTTP (local development), where `__Host-` cookies
/// are refused.
pub const PLAIN_NAME: &str = "gsp_session";

/// `Set-Cookie` for a session token: `HttpOnly` (no script reads it),
/// `SameSite=Lax` (not sent on cross-site posts), `Secure` when served over
/// HTTPS, and a lifetime.
pub fn set(token: &str, secure: bool, max_age: Duration) -> String {
    let name = if secure { SECURE_NAME } else { PLAIN_NAME };
    let mut out = format!(
        "{name}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        max_age.as_secs()
    );
    if secure {
        out.push_str("; Secure");
    }
    out
}

/// `Set-Cookie` that removes the session cookie (sign-out).
pub fn clear(secure: bool) -> String {
    set("", secure, Duration::ZERO)
}

/// The session token in a `Cookie` header, under either name.
pub fn token_from_header(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SECURE_NAME || name == PLAIN_NAME)
            .then_some(value.trim())
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_parsing() {
        let c = set("gsp_s_abc", true, Duration::from_secs(3600));
        assert_eq!(
            c,
            "__Host-gsp_session=gsp_s_abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure"
        );
        assert!(!set("t", false, Duration::from_secs(1)).contains("Secure"));
        assert!(clear(true).contains("Max-Age=0"));
        assert_eq!(
            token_from_header("theme=dark; __Host-gsp_session=gsp_s_abc; x=1"),
            Some("gsp_s_abc")
        );
        assert_eq!(token_from_header("gsp_session=t2"), Some("t2"));
        assert_eq!(token_from_header("gsp_session=; other=1"), None);
        assert_eq!(token_from_header("other=1"), None);
    }
}
