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
