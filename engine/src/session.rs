//! What flows between a gateway and the world: session ids, inbound
//! messages, outbound messages and text events.

use std::fmt;
use std::sync::Arc;

use gsp_protocol::EntityState;

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

/// The newest movement input of a session, written by its gateway at any
/// rate and read by the tick once per tick: a flood of inputs costs the world
/// nothing, and the newest always wins.
#[derive(Debug, Default)]
pub struct InputSlot {
    /// Written by the gateway, read once per tick: never contended for long.
    latest: std::sync::Mutex<Option<MoveInput>>,
}

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
    /// Stores `input` if it is newer than the one held (sequence numbers
    /// compare with wrap-around). Returns whether it was kept.
    pub fn offer(&self, input: MoveInput) -> bool {
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        let newer = match *latest {
            None => true,
            Some(held) => (input.sequence.wrapping_sub(held.sequence) as i32) > 0,
        };
        if newer {
            *latest = Some(input);
        }
        newer
    }

    /// The newest input, if any arrived.
    pub fn latest(&self) -> Option<MoveInput> {
        *self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A message from a gateway to the world, applied in the next tick's ingest stage.
#[derive(Debug)]
pub(crate) enum Inbound {
    Join {
        session: SessionId,
        name: String,
        kind: GatewayKind,
        outbound: tokio::sync::mpsc::Sender<Outbound>,
        input: Arc<InputSlot>,
    },
    Command {
        session: SessionId,
        text: String,
    },
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
}

/// A message from the world to one session.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// The join was accepted: the first message of every accepted session.
    Joined {
        /// The avatar's wire id.
        entity: u64,
        /// Ticks per second.
        tick_rate: u16,
    },
    /// The join was refused; nothing follows.
    Refused(RefusalReason),
    /// Something for the player to read.
    Text(TextEvent),
    /// What the player can see after a tick (graphical sessions only).
    State(StateUpdate),
    /// The world ended the session; nothing follows.
    Closed(CloseReason),
}

/// The entities near a graphical player after one tick.
#[derive(Debug, Clone, PartialEq)]
pub struct StateUpdate {
    /// The tick.
    pub tick: u64,
    /// The newest input sequence applied.
    pub last_input: u32,
    /// Nearest first; the player's own avatar is first.
    pub entities: Vec<EntityState>,
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
    /// The answer to `who`.
    Who(Vec<WhoEntry>),
    /// Information.
    Info(String),
    /// A command failed.
    Error(String),
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
}
