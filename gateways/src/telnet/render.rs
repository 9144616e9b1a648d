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

/// The event as telnet text, lines separated by `\n`, ending with one.
pub fn render(event: &TextEvent) -> String {
    let mut out = match event {
        TextEvent::Room(view) => format!(
            "{TITLE}{}{RESET}\n{}\n{EXITS}{}{RESET}\n{}",
            view.title,
            view.description,
            exits_line(&view.exits),
            players_line(&view.players)
        ),
        TextEvent::Said { .. } => format!("{SPEECH}{}{RESET}", render_plain(event)),
        TextEvent::Chat { .. } => format!("{CHAT}{}{RESET}", render_plain(event)),
        TextEvent::Error(_) => format!("{ERROR}{}{RESET}", render_plain(event)),
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
        }));
        assert!(text.starts_with("\x1b[1;36mThe Plaza\x1b[0m\n"));
        assert_eq!(
            strip_ansi(&text),
            "The Plaza\nCobbles.\nExits: north.\nPlayers here: ada (you), bob.\n"
        );
    }
}
