//! [`Secret`]: a password or a resume token, which must never be printed.
//!
//! Messages carrying credentials derive `Debug` like every other message, and
//! `Debug` output ends up in logs, panics and test failures. Wrapping the
//! credential in a [`Secret`] keeps it out of all of them: its `Debug` shows
//! only that something is there, and it has no `Display` at all, so that
//! printing it takes a deliberate [`Secret::expose`].

use std::fmt;

/// A credential (password or token): cloned and compared like a string,
/// never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself, for the one place that needs it (hashing,
    /// lookup, the wire).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in bytes (safe to log).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter22");
        let shown = format!("{s:?} {:?}", Some(s.clone()));
        assert!(!shown.contains("hunter22"), "{shown}");
        assert_eq!(s.expose(), "hunter22");
        assert_eq!(s.len(), 8);
        assert_eq!(s, Secret::from("hunter22"));
        assert_ne!(s, Secret::from(String::from("hunter23")));
        assert!(Secret::default().is_empty());
    }
}
