//! Messages between worlds: cross-world chat channels and presence.
//!
//! The world does not talk to Redis. It puts [`BusMessage`]s on a channel
//! ([`BusLink::outbound`]) and reads what other worlds said from another
//! ([`BusLink::inbound`]); the `gsp` binary bridges both to a `Bus`
//! (in-process, or Redis pub/sub) from `gsp-persistence`. A world hears its
//! own messages back only through the bus loopback, never twice.

use serde::{Deserialize, Serialize};

/// The chat channels every world knows, with what they are for.
pub const CHANNELS: &[(&str, &str)] = &[
    (
        "public",
        "general talk across every world (the default for `chat`)",
    ),
    ("trade", "buying, selling and swapping"),
    ("help", "questions and answers about playing"),
];

/// A message on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BusMessage {
    /// Someone spoke on a chat channel.
    Chat {
        /// The world they are in.
        world: String,
        /// The channel (one of [`CHANNELS`]).
        channel: String,
        /// The speaker.
        from: String,
        /// What they said.
        text: String,
    },
    /// Who is online in a world; sent on every join and leave and every few
    /// seconds, and forgotten when a world falls silent.
    Presence {
        /// The world.
        world: String,
        /// The players online there, sorted.
        players: Vec<String>,
        /// Milliseconds since the Unix epoch when it was sent.
        sent_ms: u64,
    },
    /// A world is stopping: forget its presence now.
    Gone {
        /// The world.
        world: String,
    },
}

/// The world's ends of its bus channels.
#[derive(Debug, Clone)]
pub struct BusLink {
    /// This world's name on the bus.
    pub world: String,
    /// Messages to publish.
    pub outbound: crossbeam_channel::Sender<BusMessage>,
    /// Messages from the bus (including this world's own, echoed back).
    pub inbound: crossbeam_channel::Receiver<BusMessage>,
}

/// Who is online in the other worlds, from their presence messages: a
/// world that has not been heard from for [`PresenceBook::TTL`] is
/// forgotten (it stopped, or the bus between us is down).
#[derive(Debug, Default, Clone)]
pub struct PresenceBook {
    worlds: std::collections::BTreeMap<String, (Vec<String>, std::time::Instant)>,
}

impl PresenceBook {
    /// How long a world's presence counts without news.
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(15);

    /// Takes in a bus message received at `now`; chat is ignored.
    pub fn receive(&mut self, message: &BusMessage, now: std::time::Instant) {
        match message {
            BusMessage::Presence { world, players, .. } => {
                self.worlds.insert(world.clone(), (players.clone(), now));
            }
            BusMessage::Gone { world } => {
                self.worlds.remove(world);
            }
            BusMessage::Chat { .. } => {}
        }
    }

    /// The worlds heard from within the TTL, by name, with their players.
    pub fn online(&self, now: std::time::Instant) -> Vec<(&str, &[String])> {
        self.worlds
            .iter()
            .filter(|(_, (_, at))| now.saturating_duration_since(*at) <= Self::TTL)
            .map(|(w, (p, _))| (w.as_str(), p.as_slice()))
            .collect()
    }
}

/// The channel `chat` speaks on when `args` starts with a channel's name
/// followed by text, else the default: (channel, text).
pub fn chat_channel(args: &str) -> (&'static str, &str) {
    if let Some((first, rest)) = args.split_once(char::is_whitespace) {
        if let Some((name, _)) = CHANNELS.iter().find(|(n, _)| n.eq_ignore_ascii_case(first)) {
            if !rest.trim().is_empty() {
                return (name, rest.trim());
            }
        }
    }
    (CHANNELS[0].0, args.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn presence_expires_and_goes() {
        let t0 = Instant::now();
        let mut book = PresenceBook::default();
        let presence = |world: &str, players: &[&str]| BusMessage::Presence {
            world: world.into(),
            players: players.iter().map(|p| p.to_string()).collect(),
            sent_ms: 0,
        };
        book.receive(&presence("east", &["ada"]), t0);
        book.receive(
            &presence("west", &["bob", "cy"]),
            t0 + Duration::from_secs(10),
        );
        assert_eq!(book.online(t0 + Duration::from_secs(12)).len(), 2);
        let later = book.online(t0 + Duration::from_secs(20));
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].0, "west");
        book.receive(
            &BusMessage::Gone {
                world: "west".into(),
            },
            t0,
        );
        assert!(book
            .online(t0 + Duration::from_secs(12))
            .iter()
            .all(|(w, _)| *w != "west"));
    }

    #[test]
    fn chat_picks_a_named_channel_only_with_text_after_it() {
        assert_eq!(
            chat_channel("trade selling a sword"),
            ("trade", "selling a sword")
        );
        assert_eq!(chat_channel("hello all"), ("public", "hello all"));
        assert_eq!(chat_channel("trade"), ("public", "trade"));
        assert_eq!(
            chat_channel("HELP how do I swim"),
            ("help", "how do I swim")
        );
    }
}
