//! World events: what happened this tick, for mods to react to.
//!
//! Systems push a [`WorldEvent`] into the [`WorldEvents`] resource as things
//! happen (a player joined, walked into a room, spoke, crossed a trigger,
//! typed a mod's command). Nothing in the engine reads them: a consumer (the
//! scripting host) turns [`WorldEvents::listening`] on and drains the queue
//! in the next tick's scripts stage. With no consumer, pushing is a no-op, so
//! a world without mods pays nothing.

use bevy_ecs::prelude::*;

use crate::map::RoomId;
use crate::session::SessionId;

/// One thing that happened in the world.
#[derive(Debug, Clone, PartialEq)]
pub enum WorldEvent {
    /// A player's avatar entered the world.
    PlayerJoin {
        /// The avatar.
        entity: Entity,
        /// Its session.
        session: SessionId,
        /// The player's name.
        name: String,
    },
    /// A player left the world (quit, disconnected or dropped).
    PlayerLeave {
        /// The avatar, already despawned.
        entity: Entity,
        /// Its session.
        session: SessionId,
        /// The player's name.
        name: String,
    },
    /// An avatar entered a room.
    EnterRoom {
        /// The avatar.
        entity: Entity,
        /// The room entered.
        room: RoomId,
        /// The room it came from, if any.
        from: Option<RoomId>,
    },
    /// An avatar left a room.
    LeaveRoom {
        /// The avatar.
        entity: Entity,
        /// The room left.
        room: RoomId,
        /// The room it went to.
        to: Option<RoomId>,
    },
    /// A player spoke in a room.
    Say {
        /// The speaker's avatar.
        entity: Entity,
        /// The room.
        room: RoomId,
        /// What was said.
        text: String,
    },
    /// A body entered or left a sensor volume.
    Trigger {
        /// The sensor entity.
        sensor: Entity,
        /// The sensor's name ([`crate::components::Sensor::name`]).
        name: String,
        /// The body that crossed it.
        other: Entity,
        /// `true` when it entered, `false` when it left.
        entered: bool,
    },
    /// A player typed a command that a mod registered.
    Command {
        /// The player's session.
        session: SessionId,
        /// The player's avatar.
        entity: Entity,
        /// The command word, lowercase.
        name: String,
        /// The rest of the line, trimmed.
        args: String,
    },
}

/// The events of the current tick, waiting for their consumer.
#[derive(Resource, Debug, Default)]
pub struct WorldEvents {
    /// Whether anyone will drain [`WorldEvents::queue`]; when `false`,
    /// [`WorldEvents::push`] drops events.
    pub listening: bool,
    /// Events in the order they happened.
    pub queue: Vec<WorldEvent>,
}

impl WorldEvents {
    /// Records `event` if someone listens.
    pub fn push(&mut self, event: WorldEvent) {
        if self.listening {
            self.queue.push(event);
        }
    }
}
