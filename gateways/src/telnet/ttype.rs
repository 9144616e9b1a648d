//! TTYPE (RFC 1091) with the MTTS cycle: what terminal the client is.
//!
//! After the client agrees to TTYPE the server asks `IAC SB TTYPE SEND IAC
//! SE` up to three times. An MTTS client answers with its name
//! (`MUDLET`), then a terminal type (`XTERM-256COLOR`), then `MTTS <bits>`,
//! and repeats the last answer when it has no more; a plain client repeats
//! its only answer. [`Ttype`] runs that cycle and [`Ttype::terminal`] reads
//! the colour depth, UTF-8 and screen-reader mode out of the answers.

use super::render::ColourDepth;

/// `IS`: the client's answer.
pub const IS: u8 = 0;
/// `SEND`: the server's question.
pub const SEND: u8 = 1;

/// The most questions asked (name, terminal type, MTTS).
pub const MAX_ASKS: u8 = 3;

/// MTTS bits (<https://tintin.mudhalla.net/protocols/mtts/>).
pub mod mtts {
    /// ANSI colour.
    pub const ANSI: u32 = 1;
    /// VT100 codes.
    pub const VT100: u32 = 2;
    /// UTF-8.
    pub const UTF8: u32 = 4;
    /// 256 colours.
    pub const COLORS_256: u32 = 8;
    /// A screen reader is in use.
    pub const SCREEN_READER: u32 = 64;
    /// 24-bit colour.
    pub const TRUECOLOR: u32 = 256;
}

/// What the answers say about the client's terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Terminal {
    /// Colours, if the client said.
    pub colour: Option<ColourDepth>,
    /// Whether it takes UTF-8, if it said.
    pub utf8: Option<bool>,
    /// A screen reader is in use (MTTS 64).
    pub screen_reader: bool,
}

/// The TTYPE cycle of one connection.
#[derive(Debug, Clone, Default)]
pub struct Ttype {
    asked: u8,
    done: bool,
    /// The client's name (first answer), as sent.
    pub client: Option<String>,
    /// The terminal type (second answer), if it differs from the name.
    pub terminal_type: Option<String>,
    /// The MTTS bit vector, if the client sent one.
    pub mtts: Option<u32>,
}

impl Ttype {
    /// Whether to ask (again): the caller then sends `IAC SB TTYPE SEND IAC SE`.
    fn ask(&mut self) -> bool {
        if self.done || self.asked >= MAX_ASKS {
            self.done = true;
            return false;
        }
        self.asked += 1;
        true
    }

    /// The client agreed to TTYPE: whether to send the first question.
    pub fn start(&mut self) -> bool {
        if self.asked > 0 {
            return false;
        }
        self.ask()
    }

    /// Whether the cycle is over.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The client answered (the payload after the option byte); returns
    /// whether to ask once more.
    pub fn answer(&mut self, data: &[u8]) -> bool {
        let Some((&IS, name)) = data.split_first() else {
            return false;
        };
        if self.done || self.asked == 0 {
            return false;
        }
        let name: String = String::from_utf8_lossy(name)
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect::<String>()
            .trim()
            .to_owned();
        if let Some(bits) = name
            .strip_prefix("MTTS ")
            .and_then(|b| b.trim().parse::<u32>().ok())
        {
            self.mtts = Some(bits);
            self.done = true;
            return false;
        }
        let repeated = match (&self.client, &self.terminal_type) {
            (Some(c), None) => *c == name,
            (Some(_), Some(t)) => *t == name,
            (None, _) => false,
        };
        if repeated {
            self.done = true;
            return false;
        }
        match self.client {
            None => self.client = Some(name),
            Some(_) if self.terminal_type.is_none() => self.terminal_type = Some(name),
            Some(_) => {}
        }
        self.ask()
    }

    /// What the answers so far say.
    pub fn terminal(&self) -> Terminal {
        if let Some(bits) = self.mtts {
            let colour = if bits & mtts::TRUECOLOR != 0 {
                ColourDepth::TrueColor
            } else if bits & mtts::COLORS_256 != 0 {
                ColourDepth::Xterm256
            } else if bits & mtts::ANSI != 0 {
                ColourDepth::Ansi16
            } else {
                ColourDepth::None
            };
            return Terminal {
                colour: Some(colour),
                utf8: Some(bits & mtts::UTF8 != 0),
                screen_reader: bits & mtts::SCREEN_READER != 0,
            };
        }
        let names = [&self.terminal_type, &self.client];
        let upper: Vec<String> = names
            .iter()
            .filter_map(|n| n.as_ref().map(|n| n.to_ascii_uppercase()))
            .collect();
        let any = |needle: &str| upper.iter().any(|n| n.contains(needle));
        let colour = if any("TRUECOLOR") {
            Some(ColourDepth::TrueColor)
        } else if any("256COLOR") {
            Some(ColourDepth::Xterm256)
        } else if any("DUMB") {
            Some(ColourDepth::None)
        } else if any("ANSI") || any("XTERM") || any("VT100") {
            Some(ColourDepth::Ansi16)
        } else {
            None
        };
        Terminal {
            colour,
            utf8: any("UTF-8").then_some(true),
            screen_reader: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is(name: &str) -> Vec<u8> {
        let mut v = vec![IS];
        v.extend_from_slice(name.as_bytes());
        v
    }

    #[test]
    fn the_mtts_cycle_reads_name_terminal_and_bits() {
        let mut t = Ttype::default();
        assert!(t.start());
        assert!(!t.start(), "asked once only");
        assert!(t.answer(&is("MUDLET")));
        assert!(t.answer(&is("ANSI-TRUECOLOR")));
        // 1 ANSI + 4 UTF-8 + 8 256 + 256 truecolor + 2048 SSL
        assert!(!t.answer(&is("MTTS 2317")));
        assert!(t.is_done());
        assert_eq!(t.client.as_deref(), Some("MUDLET"));
        assert_eq!(t.terminal_type.as_deref(), Some("ANSI-TRUECOLOR"));
        assert_eq!(
            t.terminal(),
            Terminal {
                colour: Some(ColourDepth::TrueColor),
                utf8: Some(true),
                screen_reader: false
            }
        );
        // Answers after the cycle change nothing and ask nothing.
        assert!(!t.answer(&is("OTHER")));
        assert_eq!(t.client.as_deref(), Some("MUDLET"));
    }

    #[test]
    fn mtts_bits_choose_depth_utf8_and_screen_reader() {
        let term = |bits: u32| {
            let mut t = Ttype::default();
            t.start();
            t.answer(&is(&format!("MTTS {bits}")));
            t.terminal()
        };
        assert_eq!(term(0).colour, Some(ColourDepth::None));
        assert_eq!(term(0).utf8, Some(false));
        assert_eq!(term(1).colour, Some(ColourDepth::Ansi16));
        assert_eq!(term(1 | 8).colour, Some(ColourDepth::Xterm256));
        assert_eq!(term(1 | 4).utf8, Some(true));
        assert!(term(1 | 64).screen_reader);
        assert!(!term(1).screen_reader);
    }

    #[test]
    fn a_plain_client_repeating_itself_ends_the_cycle() {
        let mut t = Ttype::default();
        assert!(t.start());
        assert!(t.answer(&is("xterm-256color")));
        assert!(!t.answer(&is("xterm-256color")), "a repeat ends it");
        assert!(t.is_done());
        assert_eq!(t.terminal().colour, Some(ColourDepth::Xterm256));
        assert_eq!(t.terminal().utf8, None);

        // Name, type, type again.
        let mut t = Ttype::default();
        t.start();
        assert!(t.answer(&is("TINTIN++")));
        assert!(t.answer(&is("DUMB")));
        assert!(!t.answer(&is("DUMB")));
        assert_eq!(t.terminal().colour, Some(ColourDepth::None));
    }

    #[test]
    fn at_most_three_questions_and_junk_is_ignored() {
        let mut t = Ttype::default();
        assert!(t.start());
        assert!(t.answer(&is("a")));
        assert!(t.answer(&is("b")));
        assert!(!t.answer(&is("c")), "three asked: no fourth");
        let mut t = Ttype::default();
        assert!(!t.answer(&is("unasked")), "an answer nobody asked for");
        assert_eq!(t.client, None);
        t.start();
        assert!(!t.answer(&[]), "empty payload");
        assert!(!t.answer(&[SEND, b'x']), "not an IS");
        assert!(t.answer(&is(&"\u{7}n".repeat(100))));
        assert_eq!(t.client.as_ref().map(|c| c.len()), Some(64));
        assert_eq!(t.terminal(), Terminal::default());
    }
}
