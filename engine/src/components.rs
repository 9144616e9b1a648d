//! The components and resources of a world.

use std::collections::HashMap;
use std::sync::Arc;

use bevy_ecs::prelude::*;

use crate::map::RoomId;
use crate::math::Vec3;
use crate::session::{GatewayKind, InputSlot, Outbound, SessionId};

/// A player's body in the world.
#[derive(Component, Debug, Clone)]
pub struct Avatar {
    /// The player's name.
    pub name: String,
    /// The session that controls it.
    pub session: SessionId,
}

/// Where an entity is.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Position(pub Vec3);

/// How an entity wants to move this tick: a horizontal direction with length
/// at most 1, scaled by its speed.
#[derive(Component, Debug, Clone, Copy, PartialEq, Default)]
pub struct MoveIntent {
    /// East/west.
    pub x: f32,
    /// North/south.
    pub z: f32,
    /// The input sequence it came from.
    pub sequence: u32,
}

/// The room an avatar was in at the end of the last rules stage; `None`
/// until it has been placed (just joined) or while it is between rooms.
#[derive(Component, Debug, Clone, Copy, PartialEq, Default)]
pub struct CurrentRoom(pub Option<RoomId>);

/// Connects an avatar to its session's input slot.
#[derive(Component, Debug, Clone)]
pub struct InputLink(pub Arc<InputSlot>);

/// One connected session, as the world keeps it.
#[derive(Debug)]
pub struct SessionEntry {
    /// Its avatar.
    pub entity: Entity,
    /// Its name.
    pub name: String,
    /// Its gateway.
    pub kind: GatewayKind,
    /// Where its messages go.
    pub tx: tokio::sync::mpsc::Sender<Outbound>,
    /// Messages produced this tick, handed over in the emit stage.
    pub outbox: Vec<Outbound>,
}

/// Every connected session.
#[derive(Resource, Debug, Default)]
pub struct Sessions {
    /// By id.
    pub by_id: HashMap<SessionId, SessionEntry>,
}

impl Sessions {
    /// Queues `message` for `session`, if it is still connected.
    pub fn send(&mut self, session: SessionId, message: Outbound) {
        if let Some(entry) = self.by_id.get_mut(&session) {
            entry.outbox.push(message);
        }
    }

    /// Sessions currently connected: (telnet, quic).
    pub fn counts(&self) -> (usize, usize) {
        let telnet = self
            .by_id
            .values()
            .filter(|e| e.kind == GatewayKind::Telnet)
            .count();
        (telnet, self.by_id.len() - telnet)
    }

    /// Whether a session with this name (compared case-insensitively) is online.
    pub fn name_in_use(&self, name: &str) -> bool {
        self.by_id
            .values()
            .any(|e| e.name.eq_ignore_ascii_case(name))
    }
}

/// Commands typed this tick, in arrival order, run in the rules stage.
#[derive(Resource, Debug, Default)]
pub struct PendingCommands(pub Vec<(SessionId, String)>);

/// The world's clock.
#[derive(Resource, Debug, Clone, Copy)]
pub struct TickTime {
    /// Ticks completed.
    pub tick: u64,
    /// Seconds per tick.
    pub dt: f32,
    /// Ticks per second.
    pub rate: u16,
}

/// Settings fixed when the world is built.
#[derive(Resource, Debug, Clone)]
pub struct WorldConfig {
    /// Ticks per second.
    pub tick_rate: u16,
    /// Players allowed at once.
    pub max_players: usize,
    /// Avatar walking speed in metres per second.
    pub walk_speed: f32,
    /// How far a graphical player sees other entities, in metres.
    pub interest_radius: f32,
    /// The most entities in one state datagram.
    pub max_entities_per_state: usize,
    /// Messages a session's outbound queue holds before the session counts
    /// as too slow and is dropped.
    pub outbound_capacity: usize,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            tick_rate: 30,
            max_players: 1000,
            walk_speed: 6.0,
            interest_radius: 60.0,
            // A state datagram stays under 1,100 bytes, inside any path MTU.
            max_entities_per_state: gsp_protocol::ServerDatagram::max_entities(1100),
            outbound_capacity: 512,
        }
    }
}
