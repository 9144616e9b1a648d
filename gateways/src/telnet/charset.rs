//! CHARSET (RFC 2066): agreeing on UTF-8, and ASCII for clients without it.
//!
//! Once either side has the option on, the server sends one `REQUEST` for
//! `UTF-8` or `US-ASCII`; the client's `ACCEPTED`/`REJECTED` decides. A
//! client's own `REQUEST` is answered too. [`to_ascii`] is the fallback for
//! a client that cannot take UTF-8.

/// `REQUEST`.
pub const REQUEST: u8 = 1;
/// `ACCEPTED`.
pub const ACCEPTED: u8 = 2;
/// `REJECTED`.
pub const REJECTED: u8 = 3;

/// The payload of the server's request.
pub fn request() -> Vec<u8> {
    let mut v = vec![REQUEST];
    v.extend_from_slice(b";UTF-8;US-ASCII");
    v
}

/// The CHARSET exchange of one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Charset {
    requested: bool,
    /// What was agreed: `Some(true)` for UTF-8, `Some(false)` for ASCII.
    pub utf8: Option<bool>,
}

impl Charset {
    /// The option went on (either side): whether to send our request now.
    pub fn start(&mut self) -> bool {
        !std::mem::replace(&mut self.requested, true)
    }

    /// A subnegotiation from the client; returns the reply to send, if any.
    pub fn receive(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        let (&kind, rest) = data.split_first()?;
        match kind {
            ACCEPTED => {
                let name = String::from_utf8_lossy(rest).trim().to_ascii_uppercase();
                self.utf8 = Some(name == "UTF-8" || name == "UTF8");
                None
            }
            REJECTED => {
                self.utf8 = Some(false);
                None
            }
            REQUEST => {
                // "[TTABLE]" and a version byte may come first; then a
                // separator and names.
                let rest = rest
                    .strip_prefix(b"[TTABLE]")
                    .map_or(rest, |r| r.get(1..).unwrap_or_default());
                let (&sep, names) = rest.split_first()?;
                let utf8 = names
                    .split(|&b| b == sep)
                    .any(|n| n.eq_ignore_ascii_case(b"UTF-8") || n.eq_ignore_ascii_case(b"UTF8"));
                if utf8 {
                    self.utf8 = Some(true);
                    let mut reply = vec![ACCEPTED];
                    reply.extend_from_slice(b"UTF-8");
                    Some(reply)
                } else {
                    Some(vec![REJECTED])
                }
            }
            _ => None,
        }
    }
}

/// `text` in ASCII: accented Latin letters lose their accents, typographic
/// quotes and dashes become plain ones, anything else becomes `?`.
pub fn to_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let plain = match c {
            'à'..='å' => "a",
            'À'..='Å' => "A",
            'æ' => "ae",
            'Æ' => "AE",
            'ç' => "c",
            'Ç' => "C",
            'è'..='ë' => "e",
            'È'..='Ë' => "E",
            'ì'..='ï' => "i",
            'Ì'..='Ï' => "I",
            'ñ' => "n",
            'Ñ' => "N",
            'ò'..='ö' | 'ø' => "o",
            'Ò'..='Ö' | 'Ø' => "O",
            'ù'..='ü' => "u",
            'Ù'..='Ü' => "U",
            'ý' | 'ÿ' => "y",
            'Ý' => "Y",
            'ß' => "ss",
            '‘' | '’' | '′' => "'",
            '“' | '”' | '″' => "\"",
            '–' | '—' | '−' => "-",
            '…' => "...",
            '\u{a0}' => " ",
            '✓' | '✔' => "v",
            _ => "?",
        };
        out.push_str(plain);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_rejected_requests() {
        let mut c = Charset::default();
        assert!(c.start());
        assert!(!c.start(), "one request per connection");
        assert_eq!(request(), b"\x01;UTF-8;US-ASCII".to_vec());
        assert_eq!(c.receive(b"\x02UTF-8"), None);
        assert_eq!(c.utf8, Some(true));
        assert_eq!(c.receive(b"\x02US-ASCII"), None);
        assert_eq!(c.utf8, Some(false));
        let mut c = Charset::default();
        assert_eq!(c.receive(b"\x03"), None);
        assert_eq!(c.utf8, Some(false));
    }

    #[test]
    fn the_clients_own_request_is_answered() {
        let mut c = Charset::default();
        assert_eq!(
            c.receive(b"\x01 ISO-8859-1 UTF-8"),
            Some(b"\x02UTF-8".to_vec())
        );
        assert_eq!(c.utf8, Some(true));
        let mut c = Charset::default();
        assert_eq!(c.receive(b"\x01;ISO-8859-1"), Some(vec![REJECTED]));
        assert_eq!(
            c.receive(b"\x01[TTABLE]\x01;utf-8"),
            Some(b"\x02UTF-8".to_vec())
        );
        // Junk is ignored.
        assert_eq!(Charset::default().receive(b""), None);
        assert_eq!(Charset::default().receive(b"\x01"), None);
        assert_eq!(Charset::default().receive(b"\x09xyz"), None);
    }

    #[test]
    fn ascii_fallback() {
        assert_eq!(to_ascii("héllo wörld ✓"), "hello world v");
        assert_eq!(to_ascii("“quoted” — fine…"), "\"quoted\" - fine...");
        assert_eq!(to_ascii("日本"), "??");
        assert_eq!(to_ascii("\x1b[33mplain\x1b[0m"), "\x1b[33mplain\x1b[0m");
        assert!(to_ascii("Ærøskøbing ß").is_ascii());
    }
}
