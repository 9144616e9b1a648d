//! The components and resources of a world.

use std::collections::HashMap;
use std::sync::Arc;

use bevy_ecs::prelude::*;

use crate::character::{AccountId, AttributeMap};
use crate::map::RoomId;
use crate::math::Vec3;
use crate::outbound::{OutboundLimits, OutboundSender};
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

/// Which way an entity faces: a unit quaternion (x, y, z, w).
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Rotation(pub [f32; 4]);

impl Default for Rotation {
    fn default() -> Self {
        Rotation(gsp_protocol::snapshot::IDENTITY)
    }
}

impl Rotation {
    /// Facing `yaw` radians from north (+z) towards east (+x): a turn about +y.
    pub fn from_yaw(yaw: f32) -> Self {
        let (s, c) = (yaw * 0.5).sin_cos();
        Rotation([0.0, s, 0.0, c])
    }
}

/// How fast an entity moves, metres per second.
#[derive(Component, Debug, Clone, Copy, PartialEq, Default)]
pub struct Velocity(pub Vec3);

/// Marks an entity that graphical players see, and how.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Replicated {
    /// What it is, for the client to draw ([`KIND_AVATAR`], [`KIND_PROP`]...).
    pub kind: u8,
    /// Scales its priority: 2.0 is sent about twice as often under a tight
    /// budget. Mods set it for what matters in their game.
    pub weight: f32,
    /// Whether its velocity is replicated too (fast, ballistic things).
    pub send_velocity: bool,
}

/// [`Replicated::kind`] of a player's avatar.
pub const KIND_AVATAR: u8 = 0;
/// [`Replicated::kind`] of a movable prop.
pub const KIND_PROP: u8 = 1;

impl Replicated {
    /// A replicated entity of `kind` with weight 1 and no velocity.
    pub fn new(kind: u8) -> Self {
        Replicated {
            kind,
            weight: 1.0,
            send_velocity: false,
        }
    }
}

/// The solid shape of a body or sensor, centred on the entity's position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A sphere.
    Ball {
        /// Radius, metres.
        radius: f32,
    },
    /// A box.
    Cuboid {
        /// Half the size along each axis, metres.
        half: Vec3,
    },
    /// An upright capsule (a cylinder with round ends), as avatars are.
    Capsule {
        /// Half the height of the cylinder part, metres.
        half_height: f32,
        /// Radius, metres.
        radius: f32,
    },
}

/// How a [`Body`] moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// Moved by forces, gravity and contacts (crates, balls).
    Dynamic,
    /// Moved only by whoever sets its position (doors, platforms).
    Kinematic,
    /// Never moves.
    Fixed,
}

/// A physical body: the physics plugin simulates entities that have one and
/// writes their [`Position`], [`Rotation`] and [`Velocity`] back every tick.
/// Setting `Position` or `Velocity` from outside (a mod) moves the body.
/// Avatars need none: they get a character controller of their own.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Body {
    /// How it moves.
    pub kind: BodyKind,
    /// Its collision shape.
    pub shape: Shape,
    /// Mass per cubic metre, kg.
    pub density: f32,
    /// Friction coefficient.
    pub friction: f32,
    /// Bounciness, 0 to 1.
    pub restitution: f32,
}

impl Body {
    /// A dynamic body of `shape` with common defaults (density 1000 kg/m³,
    /// friction 0.5, restitution 0.2).
    pub fn dynamic(shape: Shape) -> Self {
        Body {
            kind: BodyKind::Dynamic,
            shape,
            density: 1000.0,
            friction: 0.5,
            restitution: 0.2,
        }
    }
}

/// A trigger volume: bodies and avatars crossing it raise
/// [`WorldEvent::Trigger`](crate::events::WorldEvent::Trigger) events.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct Sensor {
    /// The name mods see in the event ("goal", "door:tavern").
    pub name: String,
    /// Its volume.
    pub shape: Shape,
}

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
    /// Its account; `None` for a guest.
    pub account: Option<AccountId>,
    /// Where its messages go.
    pub tx: OutboundSender,
    /// Messages produced this tick, handed over in the emit stage.
    pub outbox: Vec<Outbound>,
    /// The tick since which its queue has held more than the soft limit
    /// ([`OutboundLimits`]), if it does.
    pub over_since: Option<u64>,
    /// How fast it may speak (`say`, `chat`).
    pub speech: SpeechLimit,
    /// The tick of its last command (or of its joining): `who`'s idle time.
    pub active_tick: u64,
    /// Chat channels it left (`channels leave`): not sent to it.
    pub left_channels: Vec<String>,
}

impl SessionEntry {
    /// A session just joined (or taken over) through `tx`, with `outbox`
    /// to send first.
    pub fn new(
        entity: Entity,
        name: String,
        kind: GatewayKind,
        account: Option<AccountId>,
        tx: OutboundSender,
        outbox: Vec<Outbound>,
    ) -> SessionEntry {
        SessionEntry {
            entity,
            name,
            kind,
            account,
            tx,
            outbox,
            over_since: None,
            speech: SpeechLimit::default(),
            active_tick: 0,
            left_channels: Vec::new(),
        }
    }

    /// The same, active since `tick`.
    pub fn active_at(mut self, tick: u64) -> SessionEntry {
        self.active_tick = tick;
        self
    }

    /// The same, not hearing the channels in `left`.
    pub fn with_channels_left(mut self, left: Vec<String>) -> SessionEntry {
        self.left_channels = left;
        self
    }

    /// Whether it hears `channel`.
    pub fn hears(&self, channel: &str) -> bool {
        !self.left_channels.iter().any(|c| c == channel)
    }
}

/// The attribute a player's colour setting is kept in, with their
/// character (`config color`).
pub const COLOR_ATTRIBUTE: &str = "gsp.color";

/// The attribute the chat channels a player left are kept in, with their
/// character (`channels leave`): a list of channel names.
pub const CHANNELS_ATTRIBUTE: &str = "gsp.channels_left";

/// The channels a character left, from its attributes (known channels only).
pub fn channels_left(attributes: Option<&Attributes>) -> Vec<String> {
    let Some(list) = attributes
        .and_then(|a| a.0.get(CHANNELS_ATTRIBUTE))
        .and_then(|v| v.as_array())
    else {
        return Vec::new();
    };
    crate::bus::CHANNELS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| list.iter().any(|v| v.as_str() == Some(name)))
        .map(str::to_owned)
        .collect()
}

/// A help topic a mod added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpTopic {
    /// The mod that added it (its topics go when it unloads).
    pub owner: String,
    /// What `help <topic>` shows.
    pub text: String,
}

/// Help topics added by mods (`gsp.help`), by lowercase name; `help
/// <topic>` reads them after the built-in ones.
#[derive(Resource, Debug, Default)]
pub struct HelpTopics {
    /// By name.
    pub by_name: std::collections::BTreeMap<String, HelpTopic>,
}

/// Lines a player may speak (`say`, `chat`) per second, sustained, unless
/// the world is set otherwise ([`SpeechRate`]).
pub const SPEECH_PER_SECOND: f32 = 1.0;
/// Lines a player may speak in a burst, unless the world is set otherwise.
pub const SPEECH_BURST: f32 = 5.0;

/// How fast players may speak: a burst, then a sustained rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeechRate {
    /// Lines per second, sustained.
    pub per_second: f32,
    /// Lines in a burst (at least 1).
    pub burst: f32,
}

impl Default for SpeechRate {
    fn default() -> Self {
        SpeechRate {
            per_second: SPEECH_PER_SECOND,
            burst: SPEECH_BURST,
        }
    }
}

/// A player's speech rate limit: a token bucket of [`SpeechRate::burst`]
/// lines refilled at [`SpeechRate::per_second`], counted in ticks. A line
/// over the limit is dropped where it was typed, and only its speaker hears
/// of it, once until they speak again.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechLimit {
    tokens: f32,
    tick: Option<u64>,
    told: bool,
}

impl Default for SpeechLimit {
    fn default() -> Self {
        SpeechLimit {
            // A full bucket, whatever its size: `take` caps it at the burst.
            tokens: f32::INFINITY,
            tick: None,
            told: false,
        }
    }
}

/// What [`SpeechLimit::take`] decided about a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speech {
    /// Say it.
    Said,
    /// Drop it, and tell the speaker (the first line over the limit).
    TooFast,
    /// Drop it quietly: the speaker has been told.
    Dropped,
}

impl SpeechLimit {
    /// Takes a line at `tick` of a world ticking `rate` times a second,
    /// where players may speak at `limit`.
    pub fn take(&mut self, tick: u64, rate: u16, limit: SpeechRate) -> Speech {
        let elapsed = self.tick.map_or(0, |t| tick.saturating_sub(t));
        self.tick = Some(tick);
        let refill = elapsed as f32 * limit.per_second / f32::from(rate.max(1));
        self.tokens = (self.tokens + refill).min(limit.burst.max(1.0));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.told = false;
            Speech::Said
        } else if std::mem::replace(&mut self.told, true) {
            Speech::Dropped
        } else {
            Speech::TooFast
        }
    }
}

/// Who is in each room (avatars whose [`CurrentRoom`] it is), kept up to
/// date as they move, so that what is said or seen in a room costs the
/// size of the room, not of the world.
#[derive(Resource, Debug, Default)]
pub struct Occupants {
    by_room: Vec<Vec<Entity>>,
}

impl Occupants {
    /// The avatars in `room`, in no particular order.
    pub fn of(&self, room: RoomId) -> &[Entity] {
        self.by_room
            .get(usize::from(room.0))
            .map_or(&[], |v| v.as_slice())
    }

    /// `entity` is now in `room`.
    pub fn enter(&mut self, room: RoomId, entity: Entity) {
        let i = usize::from(room.0);
        if self.by_room.len() <= i {
            self.by_room.resize_with(i + 1, Vec::new);
        }
        self.by_room[i].push(entity);
    }

    /// `entity` is no longer in `room`.
    pub fn leave(&mut self, room: RoomId, entity: Entity) {
        if let Some(list) = self.by_room.get_mut(usize::from(room.0)) {
            if let Some(at) = list.iter().position(|&e| e == entity) {
                list.swap_remove(at);
            }
        }
    }

    /// Every room with anyone in it, and who.
    pub fn rooms(&self) -> impl Iterator<Item = (RoomId, &[Entity])> {
        self.by_room
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, v)| (RoomId(i as u16), v.as_slice()))
    }
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

    /// Queues a chat message for every session that hears `channel`.
    pub fn send_channel(&mut self, channel: &str, message: Outbound) {
        for entry in self.by_id.values_mut() {
            if entry.hears(channel) {
                entry.outbox.push(message.clone());
            }
        }
    }

    /// Queues `message` for every connected session.
    pub fn send_all(&mut self, message: Outbound) {
        for entry in self.by_id.values_mut() {
            entry.outbox.push(message.clone());
        }
    }

    /// The names of everyone online, sorted case-insensitively.
    pub fn names_sorted(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_id.values().map(|e| e.name.clone()).collect();
        names.sort_by_key(|n| n.to_lowercase());
        names
    }

    /// Changes whenever someone joins or leaves: the number of sessions and
    /// the sum of their ids. (A joining session's id is larger than every
    /// id before it, so any mix of joins and leaves changes one or the
    /// other.) Cheap enough to check every tick.
    pub fn roster(&self) -> (usize, u64) {
        let sum = self.by_id.keys().fold(0u64, |s, id| s.wrapping_add(id.0));
        (self.by_id.len(), sum)
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

/// A command a mod registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModCommand {
    /// The mod that runs it.
    pub owner: String,
    /// One line for `help`: `"use <thing>   open or operate something"`.
    pub help: String,
}

/// Commands registered by mods, by lowercase name. Players type them like
/// built-in commands, over telnet or QUIC; a built-in command of the same
/// name wins. The rules stage turns a typed mod command into a
/// [`WorldEvent::Command`](crate::events::WorldEvent::Command).
#[derive(Resource, Debug, Default)]
pub struct ModCommands {
    /// By name.
    pub by_name: std::collections::BTreeMap<String, ModCommand>,
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
    /// What graphical players are sent, and how.
    pub replication: ReplicationConfig,
    /// When a session whose socket does not drain is dropped.
    pub outbound: OutboundLimits,
    /// How fast players may speak.
    pub speech: SpeechRate,
}

impl WorldConfig {
    /// Checks the settings a world cannot run with.
    pub fn validate(&self) -> Result<(), String> {
        if self.tick_rate == 0 {
            return Err("the tick rate must be positive".into());
        }
        if !(self.walk_speed.is_finite() && self.walk_speed >= 0.0) {
            return Err("the walking speed must be a non-negative number".into());
        }
        let speech = &self.speech;
        if !(speech.per_second.is_finite() && speech.per_second >= 0.0 && speech.burst >= 1.0) {
            return Err("speech needs a non-negative rate and a burst of at least 1".into());
        }
        let o = &self.outbound;
        if o.soft_bytes == 0 || o.hard_bytes < o.soft_bytes {
            return Err("the outbound limits need 0 < soft limit ≤ hard limit".into());
        }
        let r = &self.replication;
        if !(r.view_radius.is_finite() && r.view_radius >= 0.0) {
            return Err("the view radius must be a non-negative number".into());
        }
        if r.max_datagram_bytes > gsp_protocol::limits::MAX_DATAGRAM_BYTES {
            return Err(format!(
                "snapshot datagrams are at most {} bytes",
                gsp_protocol::limits::MAX_DATAGRAM_BYTES
            ));
        }
        gsp_protocol::snapshot::Quantizer::new(r.quantization).map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            tick_rate: 30,
            max_players: 1000,
            walk_speed: 6.0,
            replication: ReplicationConfig::default(),
            outbound: OutboundLimits::default(),
            speech: SpeechRate::default(),
        }
    }
}

/// Interest management and snapshot settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationConfig {
    /// How far a graphical player sees, metres.
    pub view_radius: f32,
    /// The side of a spatial grid cell, metres.
    pub cell_size: f32,
    /// The most entities one player is sent, nearest first (their own avatar always).
    pub max_interest: usize,
    /// Snapshot bytes per second per player (256 kbit/s by default).
    pub bytes_per_second: u32,
    /// The largest snapshot datagram, bytes.
    pub max_datagram_bytes: usize,
    /// Quantization of positions, rotations and velocities.
    pub quantization: gsp_protocol::snapshot::Quantization,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            view_radius: 60.0,
            cell_size: 16.0,
            max_interest: 256,
            bytes_per_second: 256_000 / 8,
            // QUIC guarantees 1,200-byte UDP payloads; its own headers and
            // frame overhead need the rest.
            max_datagram_bytes: 1100,
            quantization: Default::default(),
        }
    }
}

/// The account an avatar belongs to; guests have none, and only avatars
/// with one have their character saved.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account(pub AccountId);

/// Mod-defined data on an entity, saved with it (avatars: with their
/// character; props: when [`Persistent`]).
#[derive(Component, Debug, Clone, PartialEq, Default)]
pub struct Attributes(pub AttributeMap);

/// Marks an entity that world saves keep, under a key unique in the world
/// (`football:ball`). A restarted world restores it from the last save.
#[derive(Component, Debug, Clone, PartialEq, Eq, Hash)]
pub struct Persistent {
    /// The stable key.
    pub key: Arc<str>,
}
