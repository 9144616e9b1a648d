//! What flows between a gateway and the world: session ids, inbound
//! messages, outbound messages and text events.

use std::fmt;

use crate::map::Direction;

/// A connection's id in the world, unique for the world's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Which front door a session came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatewayKind {
    /// A text player.
    Telnet,
    /// A graphical player.
    Quic,
}

impl GatewayKind {
    /// "telnet" or "quic".
    pub fn name(self) -> &'static str {
        match self {
            GatewayKind::Telnet => "telnet",
            GatewayKind::Quic => "quic",
        }
    }
}

/// A session's movement inputs and snapshot acknowledgements, written by its
/// gateway at any rate and read by the tick once per tick.
///
/// Inputs queue in sequence order and the world applies **one per tick**,
/// the rule client-side prediction relies on. Each input datagram repeats
/// the last few inputs, so a lost datagram loses nothing; repeats and stale
/// inputs are ignored. The queue is short: a client that runs ahead has its
/// oldest inputs dropped, so a flood of inputs costs the tick nothing and
/// buys no speed.
#[derive(Debug, Default)]
pub struct InputSlot {
    /// Written by the gateway, read once per tick: never contended for long.
    inner: std::sync::Mutex<InputQueue>,
}

#[derive(Debug, Default)]
struct InputQueue {
    queued: std::collections::VecDeque<MoveInput>,
    /// The newest sequence queued or applied.
    newest: Option<u32>,
    acks: gsp_protocol::snapshot::AckWindow,
    acks_fresh: bool,
}

/// Inputs a session may have waiting; beyond this the oldest are dropped.
pub const MAX_QUEUED_INPUTS: usize = 4;

/// One movement input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoveInput {
    /// The client's sequence number.
    pub sequence: u32,
    /// East/west, clamped to -1..=1.
    pub move_x: f32,
    /// North/south, clamped to -1..=1.
    pub move_z: f32,
}

impl InputSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, InputQueue> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the inputs of one datagram: `moves[i]` is input `sequence - i`
    /// as `[x, z]`. Returns how many were new.
    pub fn offer(&self, sequence: u32, moves: &[[f32; 2]]) -> usize {
        let mut q = self.lock();
        let mut added = 0;
        for (back, &[x, z]) in moves.iter().enumerate().rev() {
            let seq = sequence.wrapping_sub(back as u32);
            let newer = match q.newest {
                None => true,
                Some(held) => gsp_protocol::snapshot::ack::is_newer(seq, held),
            };
            if !newer {
                continue;
            }
            if q.queued.len() == MAX_QUEUED_INPUTS {
                q.queued.pop_front();
            }
            q.queued.push_back(MoveInput {
                sequence: seq,
                move_x: x,
                move_z: z,
            });
            q.newest = Some(seq);
            added += 1;
        }
        added
    }

    /// Records snapshot acknowledgements (newest, and bits of the 64 before).
    pub fn acknowledge(&self, newest: u32, bits: u64) {
        let mut q = self.lock();
        q.acks.merge(newest, bits);
        q.acks_fresh = true;
    }

    /// The next input to apply, if one is waiting.
    pub fn next_input(&self) -> Option<MoveInput> {
        self.lock().queued.pop_front()
    }

    /// The acknowledgements received since the last call, if any.
    pub fn take_acks(&self) -> Option<(u32, u64)> {
        let mut q = self.lock();
        if !std::mem::take(&mut q.acks_fresh) {
            return None;
        }
        let wire = q.acks.wire();
        q.acks = Default::default();
        Some(wire)
    }
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// The name is not 2 to 16 letters, digits, '-' or '_'.
    BadName,
    /// Someone online already has that name.
    NameTaken,
    /// The world is at its player limit.
    ServerFull,
    /// The world is stopping.
    ShuttingDown,
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefusalReason::BadName => {
                "names are 2 to 16 letters, digits, '-' or '_', starting with a letter"
            }
            RefusalReason::NameTaken => "that name is already in use",
            RefusalReason::ServerFull => "the world is full",
            RefusalReason::ShuttingDown => "the world is shutting down",
        })
    }
}

/// Why the world ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The player typed `quit`.
    Quit,
    /// The world is stopping.
    ShuttingDown,
    /// The same account logged in again elsewhere; that session goes on.
    TakenOver,
}

/// A message from the world to one session.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// The join was accepted: the first message of every accepted session.
    Joined {
        /// The avatar's wire id in snapshots.
        entity: u32,
        /// Ticks per second.
        tick_rate: u16,
        /// How snapshots are quantized.
        quantization: gsp_protocol::snapshot::Quantization,
        /// Avatar walking speed, m/s.
        walk_speed: f32,
    },
    /// The join was refused; nothing follows.
    Refused(RefusalReason),
    /// Something for the player to read.
    Text(TextEvent),
    /// A snapshot datagram, ready to send (graphical sessions only).
    Snapshot(Vec<u8>),
    /// A server message for the reliable stream, already encoded (without
    /// its frame prefix; graphical sessions only): the map and entity
    /// infos of [`crate::look`], shared between sessions.
    Frame(std::sync::Arc<[u8]>),
    /// Structured data for clients that take it (GMCP on telnet): a
    /// package name such as `Char.Vitals` and a JSON document. Sent by mods
    /// (`gsp.gmcp`); gateways without such a channel ignore it.
    Gmcp {
        /// The package, `Module.Message`.
        package: String,
        /// The data, as JSON text.
        json: String,
    },
    /// A setting kept with the player's character, for the gateway to
    /// apply: `color` = `off`, `16`, `256`, `truecolor` or `auto`. Sent when
    /// the player joins and when they change it.
    Setting {
        /// The setting.
        key: String,
        /// Its value.
        value: String,
    },
    /// The world ended the session; nothing follows.
    Closed(CloseReason),
}

impl Outbound {
    /// About how many bytes it takes on the wire: what a session's queue
    /// counts ([`crate::outbound`]).
    pub fn weight(&self) -> usize {
        const HEADER: usize = 16;
        HEADER
            + match self {
                Outbound::Snapshot(bytes) => bytes.len(),
                Outbound::Frame(bytes) => bytes.len(),
                Outbound::Text(event) => event.weight(),
                Outbound::Gmcp { package, json } => package.len() + json.len(),
                Outbound::Setting { key, value } => key.len() + value.len(),
                Outbound::Joined { .. } | Outbound::Refused(_) | Outbound::Closed(_) => 0,
            }
    }
}

/// A room as a player sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomView {
    /// Stable key.
    pub key: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Exit directions.
    pub exits: Vec<Direction>,
    /// Names of the players here, the viewer first.
    pub players: Vec<String>,
    /// The room's number, stable for a map (its index in the map, plus 1):
    /// what mappers key rooms by (GMCP `Room.Info`).
    pub number: u32,
    /// Where each exit leads, by room number, in the order of `exits`.
    pub exit_rooms: Vec<u32>,
    /// The centre of the room's box in metres (x east, y up, z north).
    pub center: [f32; 3],
}

/// Something a player reads, structured so that each gateway renders it its
/// own way (ANSI colour on telnet, typed events on QUIC).
#[derive(Debug, Clone, PartialEq)]
pub enum TextEvent {
    /// A room description.
    Room(RoomView),
    /// Someone came into the player's room.
    Arrived {
        /// Who.
        name: String,
        /// The room.
        room: String,
        /// From which direction (as seen from this room), if they came by an exit.
        from: Option<Direction>,
        /// They just entered the world.
        joined: bool,
    },
    /// Someone left the player's room.
    Departed {
        /// Who.
        name: String,
        /// The room.
        room: String,
        /// Which way, if through an exit.
        to: Option<Direction>,
        /// They left the world.
        quit: bool,
    },
    /// Someone spoke in the player's room.
    Said {
        /// The speaker.
        speaker: String,
        /// The room.
        room: String,
        /// What they said.
        text: String,
        /// Whether the reader is the speaker.
        by_you: bool,
    },
    /// The answer to `who`: the players in the reader's room first, then
    /// others, at most [`WHO_LIMIT`](crate::text::WHO_LIMIT) in all.
    Who {
        /// Those listed.
        players: Vec<WhoEntry>,
        /// Everyone online in this world.
        online: usize,
    },
    /// The answer to `who all`: every world on the bus, this one first.
    WhoAll(Vec<WorldWho>),
    /// A chat channel message, from this world or another.
    Chat {
        /// The channel.
        channel: String,
        /// The speaker's world.
        world: String,
        /// Whether that is the reader's world.
        here: bool,
        /// The speaker.
        from: String,
        /// What they said.
        text: String,
    },
    /// A tell, to or from the reader.
    Told {
        /// Who told.
        from: String,
        /// Whom.
        to: String,
        /// What.
        text: String,
        /// Whether the reader is the teller.
        by_you: bool,
    },
    /// Someone in the reader's room acted (`emote`).
    Emote {
        /// Who.
        name: String,
        /// The room.
        room: String,
        /// What they did: "waves".
        text: String,
    },
    /// Information.
    Info(String),
    /// A command failed.
    Error(String),
}

impl TextEvent {
    /// About how many bytes it takes once rendered (see [`Outbound::weight`]).
    pub fn weight(&self) -> usize {
        match self {
            TextEvent::Room(v) => {
                v.key.len()
                    + v.title.len()
                    + v.description.len()
                    + 8 * v.exits.len()
                    + v.players.iter().map(|p| p.len() + 2).sum::<usize>()
                    + 16
            }
            TextEvent::Arrived { name, room, .. } | TextEvent::Departed { name, room, .. } => {
                name.len() + room.len() + 32
            }
            TextEvent::Said {
                speaker,
                room,
                text,
                ..
            } => speaker.len() + room.len() + text.len() + 16,
            TextEvent::Who { players, .. } => {
                32 + players
                    .iter()
                    .map(|p| p.name.len() + p.room.len() + 16)
                    .sum::<usize>()
            }
            TextEvent::WhoAll(worlds) => worlds
                .iter()
                .map(|w| w.world.len() + 16 + w.players.iter().map(|p| p.len() + 2).sum::<usize>())
                .sum(),
            TextEvent::Chat {
                channel,
                world,
                from,
                text,
                ..
            } => channel.len() + world.len() + from.len() + text.len() + 16,
            TextEvent::Told { from, to, text, .. } => from.len() + to.len() + text.len() + 16,
            TextEvent::Emote { name, room, text } => name.len() + room.len() + text.len() + 8,
            TextEvent::Info(text) | TextEvent::Error(text) => text.len(),
        }
    }
}

/// One world in `who all`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldWho {
    /// The world's name.
    pub world: String,
    /// Whether it is the reader's world.
    pub here: bool,
    /// Its players, sorted.
    pub players: Vec<String>,
}

/// One line of `who`.
#[derive(Debug, Clone, PartialEq)]
pub struct WhoEntry {
    /// Name.
    pub name: String,
    /// Gateway.
    pub kind: GatewayKind,
    /// Title of the room they are in.
    pub room: String,
    /// Seconds since they last typed a command (or joined).
    pub idle_secs: u64,
}
