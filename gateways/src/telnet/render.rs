//! World events as telnet text, with ANSI colour.

use gsp_engine::text::{exits_line, players_line, render_plain};
use gsp_engine::TextEvent;

/// Bold cyan, for room titles.
pub const TITLE: &str = "\x1b[1;36m";
/// Green, for exits.
pub const EXITS: &str = "\x1b[32m";
/// Yellow, for speech.
pub const SPEECH: &str = "\x1b[33m";
/// Magenta, for chat channels.
pub const CHAT: &str = "\x1b[35m";
/// Red, for errors.
pub const ERROR: &str = "\x1b[31m";
/// Back to normal.
pub const RESET: &str = "\x1b[0m";

/// How many colours a client shows, from TTYPE/MTTS or `config color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColourDepth {
    /// No colour at all (escape codes removed).
    None,
    /// The 16 ANSI colours: what every client gets unless it says otherwise.
    Ansi16,
    /// xterm's 256 colours.
    Xterm256,
    /// 24-bit colour.
    TrueColor,
}

impl ColourDepth {
    /// "off", "16", "256" or "truecolor", as `config color` takes them.
    pub fn name(self) -> &'static str {
        match self {
            ColourDepth::None => "off",
            ColourDepth::Ansi16 => "16",
            ColourDepth::Xterm256 => "256",
            ColourDepth::TrueColor => "truecolor",
        }
    }

    /// Reads `config color`'s argument.
    pub fn parse(word: &str) -> Option<ColourDepth> {
        match word.to_ascii_lowercase().as_str() {
            "off" | "none" | "0" | "no" => Some(ColourDepth::None),
            "16" | "on" | "ansi" => Some(ColourDepth::Ansi16),
            "256" => Some(ColourDepth::Xterm256),
            "truecolor" | "truecolour" | "24bit" => Some(ColourDepth::TrueColor),
            _ => None,
        }
    }
}

/// The escape codes of each kind of text at one colour depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// Room titles.
    pub title: &'static str,
    /// Exits.
    pub exits: &'static str,
    /// Speech.
    pub speech: &'static str,
    /// Chat channels.
    pub chat: &'static str,
    /// Errors.
    pub error: &'static str,
    /// Back to normal.
    pub reset: &'static str,
}

impl Palette {
    /// The palette for `depth`; [`ColourDepth::None`] has empty codes.
    pub fn for_depth(depth: ColourDepth) -> Palette {
        match depth {
            ColourDepth::None => Palette {
                title: "",
                exits: "",
                speech: "",
                chat: "",
                error: "",
                reset: "",
            },
            ColourDepth::Ansi16 => Palette {
                title: TITLE,
                exits: EXITS,
                speech: SPEECH,
                chat: CHAT,
                error: ERROR,
                reset: RESET,
            },
            ColourDepth::Xterm256 => Palette {
                title: "\x1b[1;38;5;45m",
                exits: "\x1b[38;5;114m",
                speech: "\x1b[38;5;221m",
                chat: "\x1b[38;5;176m",
                error: "\x1b[38;5;203m",
                reset: RESET,
            },
            ColourDepth::TrueColor => Palette {
                title: "\x1b[1;38;2;64;200;255m",
                exits: "\x1b[38;2;120;210;120m",
                speech: "\x1b[38;2;250;210;90m",
                chat: "\x1b[38;2;215;140;215m",
                error: "\x1b[38;2;255;95;95m",
                reset: RESET,
            },
        }
    }
}

/// The event as telnet text in 16 colours, lines separated by `\n`, ending with one.
pub fn render(event: &TextEvent) -> String {
    render_with(event, &Palette::for_depth(ColourDepth::Ansi16))
}

/// The event as telnet text in `palette`'s colours.
pub fn render_with(event: &TextEvent, p: &Palette) -> String {
    let reset = p.reset;
    let mut out = match event {
        TextEvent::Room(view) => format!(
            "{}{}{reset}\n{}\n{}{}{reset}\n{}",
            p.title,
            view.title,
            view.description,
            p.exits,
            exits_line(&view.exits),
            players_line(&view.players)
        ),
        TextEvent::Said { .. } | TextEvent::Told { .. } => {
            format!("{}{}{reset}", p.speech, render_plain(event))
        }
        TextEvent::Chat { .. } => format!("{}{}{reset}", p.chat, render_plain(event)),
        TextEvent::Error(_) => format!("{}{}{reset}", p.error, render_plain(event)),
        other => render_plain(other),
    };
    out.push('\n');
    out
}

/// Removes ANSI escape sequences, for tests and logs.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gsp_engine::{Direction, RoomView};

    #[test]
    fn room_titles_are_coloured() {
        let text = render(&TextEvent::Room(RoomView {
            key: "plaza".into(),
            title: "The Plaza".into(),
            description: "Cobbles.".into(),
            exits: vec![Direction::North],
            players: vec!["ada".into(), "bob".into()],
            number: 1,
            exit_rooms: vec![2],
            center: [0.0, 0.0, 0.0],
        }));
        assert!(text.starts_with("\x1b[1;36mThe Plaza\x1b[0m\n"));
        assert_eq!(
            strip_ansi(&text),
            "The Plaza\nCobbles.\nExits: north.\nPlayers here: ada (you), bob.\n"
        );
        let event = TextEvent::Error("no".into());
        for depth in [ColourDepth::Xterm256, ColourDepth::TrueColor] {
            let text = render_with(&event, &Palette::for_depth(depth));
            assert!(text.starts_with("\x1b[38;"), "{text:?}");
            assert_eq!(strip_ansi(&text), "no\n");
        }
        assert_eq!(
            render_with(&event, &Palette::for_depth(ColourDepth::None)),
            "no\n"
        );
        assert_eq!(ColourDepth::parse("OFF"), Some(ColourDepth::None));
        assert_eq!(ColourDepth::parse("256"), Some(ColourDepth::Xterm256));
        assert_eq!(ColourDepth::parse("purple"), None);
    }
}
