//! Text commands and plain-text rendering, shared by every gateway.
//!
//! [`parse`] turns a typed line into a [`Command`]; [`render_plain`] turns a
//! [`TextEvent`] into the lines a player reads, without colour. Gateways may
//! decorate (telnet colours room titles), but the words are these.

use crate::map::Direction;
use crate::session::{TextEvent, WhoEntry, WorldWho};

/// A parsed player command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Describe the room.
    Look,
    /// Speak to the room.
    Say(String),
    /// Take an exit.
    Go(Direction),
    /// List the players online here.
    Who,
    /// List the players online in every world on the bus.
    WhoAll,
    /// Speak on a chat channel across worlds: the text after `chat`
    /// (perhaps starting with a channel's name).
    Chat(String),
    /// List the chat channels.
    Channels,
    /// List the commands.
    Help,
    /// Leave the world.
    Quit,
    /// An empty line.
    Nothing,
    /// A word that is no built-in command: perhaps one a mod registered.
    Other {
        /// The first word, lowercase.
        verb: String,
        /// The rest of the line, trimmed.
        args: String,
    },
    /// Something that is not a command; the text says what to tell the player.
    Invalid(String),
}

/// Parses one line as typed: `look`, `say hi`, `'hi`, `go north`, `n`, `who`...
pub fn parse(line: &str) -> Command {
    let line = line.trim();
    if line.is_empty() {
        return Command::Nothing;
    }
    if let Some(rest) = line.strip_prefix('\'').or_else(|| line.strip_prefix('"')) {
        return say(rest);
    }
    let (verb, rest) = match line.split_once(char::is_whitespace) {
        Some((v, r)) => (v, r.trim()),
        None => (line, ""),
    };
    let verb = verb.to_lowercase();
    match verb.as_str() {
        "look" | "l" => Command::Look,
        "say" => say(rest),
        "who" if rest.eq_ignore_ascii_case("all") => Command::WhoAll,
        "who" => Command::Who,
        "chat" | "ch" => {
            if rest.is_empty() {
                Command::Invalid("Chat what? Try 'chat hello', or 'chat trade ...'; 'channels' lists the channels.".into())
            } else {
                Command::Chat(rest.to_owned())
            }
        }
        "channels" => Command::Channels,
        "help" | "?" | "commands" => Command::Help,
        "quit" | "exit" | "logout" => Command::Quit,
        "go" | "walk" | "move" => {
            if rest.is_empty() {
                Command::Invalid("Go where? Try 'go north', or just 'n'.".into())
            } else {
                match Direction::parse(rest) {
                    Some(d) => Command::Go(d),
                    None => Command::Invalid(format!("'{rest}' is not a direction.")),
                }
            }
        }
        _ => match Direction::parse(&verb) {
            Some(d) if rest.is_empty() => Command::Go(d),
            Some(_) => Command::Invalid(format!("'{line}' is not a command I know.")),
            None => Command::Other {
                verb,
                args: rest.to_owned(),
            },
        },
    }
}

fn say(text: &str) -> Command {
    let text = text.trim();
    if text.is_empty() {
        Command::Invalid("Say what?".into())
    } else {
        Command::Say(text.to_owned())
    }
}

/// What a player reads for a command nobody knows.
pub fn unknown_command(verb: &str) -> String {
    format!("Unknown command '{verb}'. Type 'help' for the list.")
}

/// The help text of the built-in commands.
pub const HELP: &str = "Commands:
  look (l)              describe the room you are in
  say <text>, 'text     speak to everyone in the room
  go <exit>             take an exit: north, south, east, west, up, down
  n, s, e, w, u, d      the same, shorter
  who                   list the players online here
  who all               list the players online in every world
  chat <text>           speak on the public channel, heard in every world
  chat <channel> <text> speak on another channel (see 'channels')
  channels              list the chat channels
  help                  this list
  quit                  leave the world";

/// The event as plain text; lines are separated by `\n`, with no trailing newline.
pub fn render_plain(event: &TextEvent) -> String {
    match event {
        TextEvent::Room(view) => {
            let mut out = format!("{}\n{}\n", view.title, view.description);
            out.push_str(&exits_line(&view.exits));
            out.push('\n');
            out.push_str(&players_line(&view.players));
            out
        }
        TextEvent::Arrived {
            name, from, joined, ..
        } => match (joined, from) {
            (true, _) => format!("{name} enters the world."),
            (false, Some(d)) => format!("{name} arrives from {}.", from_phrase(*d)),
            (false, None) => format!("{name} arrives."),
        },
        TextEvent::Departed { name, to, quit, .. } => match (quit, to) {
            (true, _) => format!("{name} leaves the world."),
            (false, Some(d)) => format!("{name} leaves {}.", to_phrase(*d)),
            (false, None) => format!("{name} leaves."),
        },
        TextEvent::Said {
            speaker,
            text,
            by_you,
            ..
        } => {
            if *by_you {
                format!("You say, \"{text}\"")
            } else {
                format!("{speaker} says, \"{text}\"")
            }
        }
        TextEvent::Who { players, online } => who(players, *online),
        TextEvent::WhoAll(worlds) => who_all(worlds),
        TextEvent::Chat {
            channel,
            world,
            here,
            from,
            text,
        } => {
            if *here {
                format!("[{channel}] {from}: {text}")
            } else {
                format!("[{channel}] {from}@{world}: {text}")
            }
        }
        TextEvent::Info(text) | TextEvent::Error(text) => text.clone(),
    }
}

/// "Exits: north, south." or "There are no exits."
pub fn exits_line(exits: &[Direction]) -> String {
    if exits.is_empty() {
        "There are no obvious exits.".into()
    } else {
        let names: Vec<&str> = exits.iter().map(|d| d.name()).collect();
        format!("Exits: {}.", names.join(", "))
    }
}

/// "Players here: ada (you), bob." The viewer comes first.
pub fn players_line(players: &[String]) -> String {
    let mut names: Vec<String> = Vec::with_capacity(players.len());
    for (i, p) in players.iter().enumerate() {
        names.push(if i == 0 {
            format!("{p} (you)")
        } else {
            p.clone()
        });
    }
    format!("Players here: {}.", names.join(", "))
}

fn from_phrase(d: Direction) -> String {
    match d {
        Direction::Up => "above".into(),
        Direction::Down => "below".into(),
        d => format!("the {d}"),
    }
}

fn to_phrase(d: Direction) -> String {
    match d {
        Direction::Up => "upwards".into(),
        Direction::Down => "downwards".into(),
        d => d.name().into(),
    }
}

/// The most players `who` lists: those in the reader's room first.
pub const WHO_LIMIT: usize = 50;

fn who(entries: &[WhoEntry], online: usize) -> String {
    let online = online.max(entries.len());
    let mut out = format!(
        "{} player{} online:",
        online,
        if online == 1 { "" } else { "s" }
    );
    for e in entries {
        out.push_str(&format!(
            "\n  {:<16} {:<7} {}",
            e.name,
            e.kind.name(),
            e.room
        ));
    }
    if online > entries.len() {
        out.push_str(&format!("\n  ... and {} more", online - entries.len()));
    }
    out
}

fn who_all(worlds: &[WorldWho]) -> String {
    let total: usize = worlds.iter().map(|w| w.players.len()).sum();
    let mut out = format!(
        "{total} player{} online in {} world{}:",
        if total == 1 { "" } else { "s" },
        worlds.len(),
        if worlds.len() == 1 { "" } else { "s" }
    );
    for w in worlds {
        let label = if w.here {
            format!("{} (here)", w.world)
        } else {
            w.world.clone()
        };
        let players = if w.players.is_empty() {
            "nobody".to_owned()
        } else {
            w.players.join(", ")
        };
        out.push_str(&format!("\n  {label:<24} {players}"));
    }
    out
}

/// The answer to `channels`.
pub fn channels_text() -> String {
    let mut out = String::from("Chat channels (heard in every world):");
    for (name, about) in crate::bus::CHANNELS {
        out.push_str(&format!("\n  {name:<10} {about}"));
    }
    out.push_str("\nSpeak with 'chat <text>' (public) or 'chat <channel> <text>'.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_command_set() {
        assert_eq!(parse("look"), Command::Look);
        assert_eq!(parse("  L "), Command::Look);
        assert_eq!(parse("say hello there"), Command::Say("hello there".into()));
        assert_eq!(parse("'hi"), Command::Say("hi".into()));
        assert_eq!(parse("go north"), Command::Go(Direction::North));
        assert_eq!(parse("GO s"), Command::Go(Direction::South));
        assert_eq!(parse("d"), Command::Go(Direction::Down));
        assert_eq!(parse("up"), Command::Go(Direction::Up));
        assert_eq!(parse("who"), Command::Who);
        assert_eq!(parse("who ALL"), Command::WhoAll);
        assert_eq!(
            parse("chat trade a sword"),
            Command::Chat("trade a sword".into())
        );
        assert!(matches!(parse("chat"), Command::Invalid(_)));
        assert_eq!(parse("channels"), Command::Channels);
        assert_eq!(parse("quit"), Command::Quit);
        assert_eq!(parse(""), Command::Nothing);
        assert!(matches!(parse("say"), Command::Invalid(_)));
        assert!(matches!(parse("go nowhere"), Command::Invalid(_)));
        assert_eq!(
            parse("Dance  wildly "),
            Command::Other {
                verb: "dance".into(),
                args: "wildly".into()
            }
        );
        assert!(matches!(parse("n x"), Command::Invalid(_)));
    }

    #[test]
    fn renders_movement_with_directions() {
        let e = TextEvent::Arrived {
            name: "ada".into(),
            room: "plaza".into(),
            from: Some(Direction::South),
            joined: false,
        };
        assert_eq!(render_plain(&e), "ada arrives from the south.");
        let e = TextEvent::Departed {
            name: "ada".into(),
            room: "tavern".into(),
            to: Some(Direction::Down),
            quit: false,
        };
        assert_eq!(render_plain(&e), "ada leaves downwards.");
    }
}
