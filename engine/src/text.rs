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
    /// Speak to one player, wherever they are in this world.
    Tell {
        /// Their name, as typed.
        to: String,
        /// What to tell them.
        text: String,
    },
    /// Act, seen by the room: `emote waves` (also `:waves`, `pose waves`)
    /// reads "ada waves".
    Emote(String),
    /// List the chat channels, or join or leave one.
    Channels(ChannelAction),
    /// The commands, or the help on a topic.
    Help(Option<String>),
    /// A setting kept with the character: `config color 256`.
    Config {
        /// The setting, lowercase.
        key: String,
        /// Its new value, as typed.
        value: String,
    },
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

/// What `channels` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelAction {
    /// List them, and which this player hears.
    List,
    /// Hear this channel again.
    Join(String),
    /// Stop hearing this channel.
    Leave(String),
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
    if let Some(rest) = line.strip_prefix(':') {
        return emote(rest);
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
        "channels" | "channel" => channels(rest),
        "help" | "?" | "commands" => Command::Help((!rest.is_empty()).then(|| rest.to_lowercase())),
        "tell" | "whisper" | "page" => match rest.split_once(char::is_whitespace) {
            Some((to, text)) if !text.trim().is_empty() => Command::Tell {
                to: to.to_owned(),
                text: text.trim().to_owned(),
            },
            _ => Command::Invalid("Tell whom what? Try 'tell bob hello'.".into()),
        },
        "emote" | "pose" | "me" => emote(rest),
        "config" if !rest.is_empty() => {
            let (key, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            Command::Config {
                key: key.to_lowercase(),
                value: value.trim().to_owned(),
            }
        }
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

fn emote(text: &str) -> Command {
    let text = text.trim();
    if text.is_empty() {
        Command::Invalid("Emote what? Try 'emote waves', or ':waves'.".into())
    } else {
        Command::Emote(text.to_owned())
    }
}

fn channels(rest: &str) -> Command {
    let (what, channel) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let channel = channel.trim().to_lowercase();
    match (what.to_lowercase().as_str(), channel.is_empty()) {
        ("", _) | ("list", _) => Command::Channels(ChannelAction::List),
        ("join" | "on", false) => Command::Channels(ChannelAction::Join(channel)),
        ("leave" | "off", false) => Command::Channels(ChannelAction::Leave(channel)),
        _ => Command::Invalid(
            "Try 'channels', 'channels join <channel>' or 'channels leave <channel>'.".into(),
        ),
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
  emote <act>, :act     act for the room to see: ':waves' (also 'pose')
  tell <name> <text>    speak to one player, wherever they are
  go <exit>             take an exit: north, south, east, west, up, down
  n, s, e, w, u, d      the same, shorter
  who                   list the players online, with how long they've been idle
  who all               list the players online in every world
  chat <text>           speak on the public channel, heard in every world
  chat <channel> <text> speak on another channel (see 'channels')
  channels              list the chat channels; 'channels join/leave <channel>'
  config                your settings: 'config color off|16|256|truecolor|auto',
                        'config prompt on|off|<template>'
  help <topic>          more on a topic (see 'help topics')
  help                  this list
  quit                  leave the world";

/// The built-in help topics: (topic, text).
pub const TOPICS: &[(&str, &str)] = &[
    (
        "movement",
        "Rooms are joined by exits: north, east, south, west, up and down. Type the \
direction ('north' or 'n') or 'go north'. 'look' describes the room again.",
    ),
    (
        "talking",
        "'say hello' (or 'hello) is heard by the room, 'emote waves' (or ':waves') \
shows 'you waves' to the room, 'tell bob hi' reaches bob anywhere in this world, \
and 'chat hi' reaches the public channel in every world ('channels' lists the others).",
    ),
    (
        "channels",
        "'channels' lists the chat channels and which you hear. 'channels leave trade' \
stops you hearing trade (kept with your character), 'channels join trade' starts \
again. 'chat trade <text>' speaks on it.",
    ),
    (
        "color",
        "'config color off', '16', '256' or 'truecolor' chooses how much colour you \
see, and is kept with your character; 'config color auto' lets your client say \
(telnet clients that tell their terminal type, as Mudlet and TinTin++ do).",
    ),
    (
        "clients",
        "Any telnet client works. MUD clients get more: GMCP (Char, Room with the \
mapper's Room.Info, Comm.Channel), MSSP, MCCP2 compression, NAWS wrapping to your \
window, TTYPE/MTTS colour depth, CHARSET UTF-8, and a prompt marked with EOR \
('config prompt on|off|<template>'). Graphical players use 'gsp play'.",
    ),
    (
        "who",
        "'who' lists the players online here, their client and how long they have \
been idle; 'who all' lists every world's players.",
    ),
];

/// The answer to `help topics`: the topic names, built-in and from mods.
pub fn topics_line<'a>(extra: impl Iterator<Item = &'a str>) -> String {
    let mut names: Vec<&str> = TOPICS.iter().map(|(t, _)| *t).chain(extra).collect();
    names.sort_unstable();
    names.dedup();
    format!("Help topics: {}. Type 'help <topic>'.", names.join(", "))
}

/// The built-in help on `topic` (its aliases too), if there is some.
pub fn topic(topic: &str) -> Option<&'static str> {
    let topic = match topic {
        "colour" | "colors" | "colours" => "color",
        "move" | "go" | "exits" => "movement",
        "say" | "emote" | "pose" | "tell" | "chat" => "talking",
        "channel" => "channels",
        "mudlet" | "gmcp" | "telnet" | "client" => "clients",
        other => other,
    };
    TOPICS
        .iter()
        .find(|(t, _)| *t == topic)
        .map(|(_, text)| *text)
}

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
        TextEvent::Told {
            from,
            to,
            text,
            by_you,
        } => {
            if *by_you {
                format!("You tell {to}, \"{text}\"")
            } else {
                format!("{from} tells you, \"{text}\"")
            }
        }
        TextEvent::Emote { name, text, .. } => emote_line(name, text),
        TextEvent::Info(text) | TextEvent::Error(text) => text.clone(),
    }
}

/// "ada waves." from `ada` and `waves.`; "ada's eyes narrow" from `'s eyes narrow`.
pub fn emote_line(name: &str, text: &str) -> String {
    if text.starts_with(['\'', ',', '.']) {
        format!("{name}{text}")
    } else {
        format!("{name} {text}")
    }
}

/// "3s", "4m", "2h", "5d": how long someone has been idle.
pub fn idle_text(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
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
    if !entries.is_empty() {
        out.push_str(&format!(
            "\n  {:<16} {:<7} {:>5}  {}",
            "Name", "Client", "Idle", "Where"
        ));
    }
    for e in entries {
        out.push_str(&format!(
            "\n  {:<16} {:<7} {:>5}  {}",
            e.name,
            e.kind.name(),
            idle_text(e.idle_secs),
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

/// The answer to `channels`; `left` are the channels this player left.
pub fn channels_text(left: &[String]) -> String {
    let mut out = String::from("Chat channels (heard in every world):");
    for (name, about) in crate::bus::CHANNELS {
        let mark = if left.iter().any(|l| l == name) {
            "(left)"
        } else {
            ""
        };
        out.push_str(&format!("\n  {name:<10} {mark:<7}{about}"));
    }
    out.push_str(
        "\nSpeak with 'chat <text>' (public) or 'chat <channel> <text>'; \
'channels leave <channel>' stops you hearing one, 'channels join <channel>' starts again.",
    );
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
        assert_eq!(parse("channels"), Command::Channels(ChannelAction::List));
        assert_eq!(
            parse("channels leave Trade"),
            Command::Channels(ChannelAction::Leave("trade".into()))
        );
        assert_eq!(
            parse("channels join ooc"),
            Command::Channels(ChannelAction::Join("ooc".into()))
        );
        assert!(matches!(parse("channels join"), Command::Invalid(_)));
        assert_eq!(
            parse("tell Bob  hello there "),
            Command::Tell {
                to: "Bob".into(),
                text: "hello there".into()
            }
        );
        assert!(matches!(parse("tell bob"), Command::Invalid(_)));
        assert_eq!(parse(":waves"), Command::Emote("waves".into()));
        assert_eq!(parse("emote grins"), Command::Emote("grins".into()));
        assert_eq!(
            parse("pose leans back"),
            Command::Emote("leans back".into())
        );
        assert!(matches!(parse("emote"), Command::Invalid(_)));
        assert_eq!(parse("help"), Command::Help(None));
        assert_eq!(parse("help Talking"), Command::Help(Some("talking".into())));
        assert_eq!(
            parse("config color 256"),
            Command::Config {
                key: "color".into(),
                value: "256".into()
            }
        );
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
    fn renders_tells_emotes_idle_and_topics() {
        let told = |by_you| TextEvent::Told {
            from: "ada".into(),
            to: "bob".into(),
            text: "psst".into(),
            by_you,
        };
        assert_eq!(render_plain(&told(true)), "You tell bob, \"psst\"");
        assert_eq!(render_plain(&told(false)), "ada tells you, \"psst\"");
        assert_eq!(emote_line("ada", "waves."), "ada waves.");
        assert_eq!(emote_line("ada", "'s eyes narrow."), "ada's eyes narrow.");
        assert_eq!(idle_text(5), "5s");
        assert_eq!(idle_text(125), "2m");
        assert_eq!(idle_text(7300), "2h");
        assert_eq!(idle_text(200_000), "2d");
        assert!(topic("colour").unwrap().contains("config color"));
        assert!(topic("nonsense").is_none());
        let line = topics_line(["zebra"].into_iter());
        assert!(line.contains("movement") && line.ends_with("zebra. Type 'help <topic>'."));
        let who_text = render_plain(&TextEvent::Who {
            players: vec![WhoEntry {
                name: "ada".into(),
                kind: crate::session::GatewayKind::Telnet,
                room: "The Plaza".into(),
                idle_secs: 90,
            }],
            online: 1,
        });
        assert!(
            who_text.contains("Name") && who_text.contains("Idle"),
            "{who_text}"
        );
        assert!(
            who_text.contains("  ada              telnet     1m  The Plaza"),
            "{who_text}"
        );
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
