//! The session cookie: its name, its attributes, and reading it back from
//! a `Cookie` header.

use std::time::Duration;

/// The cookie's name. The `__Host-` prefix makes browsers insist on
/// `Secure`, `Path=/` and no `Domain`, so a sibling site cannot set it.
pub const SECURE_NAME: &str = "__Host-gsp_session";
/// The name over plain HTTP (local development), where `__Host-` cookies
/// are refused.
pub const PLAIN_NAME: &str = "gsp_session";

/// How far a cookie travels with requests from other sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Never sent on requests started by another site.
    Strict,
    /// Sent on top-level navigations from other sites (links, redirects
    /// back from a sign-in provider), not on their posts.
    Lax,
}

/// `Set-Cookie` for `name=value`: `HttpOnly` (no script reads it), scoped
/// to `path`, `same_site`, `Secure` when served over HTTPS, lasting
/// `max_age` (zero removes it).
pub fn build(
    name: &str,
    value: &str,
    path: &str,
    same_site: SameSite,
    secure: bool,
    max_age: Duration,
) -> String {
    let same_site = match same_site {
        SameSite::Strict => "Strict",
        SameSite::Lax => "Lax",
    };
    let mut out = format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={}",
        max_age.as_secs()
    );
    if secure {
        out.push_str("; Secure");
    }
    out
}

/// `Set-Cookie` for a session token: `SameSite=Lax` (not sent on
/// cross-site posts), on the whole site, under the `__Host-` name when
/// served over HTTPS.
pub fn set(token: &str, secure: bool, max_age: Duration) -> String {
    let name = if secure { SECURE_NAME } else { PLAIN_NAME };
    build(name, token, "/", SameSite::Lax, secure, max_age)
}

/// `Set-Cookie` that removes the session cookie (sign-out).
pub fn clear(secure: bool) -> String {
    set("", secure, Duration::ZERO)
}

/// The (non-empty) value of cookie `name` in a `Cookie` header.
pub fn value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.trim().split_once('=')?;
        (n == name).then_some(v.trim()).filter(|v| !v.is_empty())
    })
}

/// The session token in a `Cookie` header, under either name.
pub fn token_from_header(header: &str) -> Option<&str> {
    value(header, SECURE_NAME).or_else(|| value(header, PLAIN_NAME))
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
        assert_eq!(value("a=1; gsp_signin=x", "gsp_signin"), Some("x"));
        assert_eq!(
            build(
                "s",
                "v",
                "/signin",
                SameSite::Strict,
                false,
                Duration::from_secs(60)
            ),
            "s=v; Path=/signin; HttpOnly; SameSite=Strict; Max-Age=60"
        );
    }
}
