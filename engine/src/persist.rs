//! What the world saves and restores, as plain data.
//!
//! The tick thread never writes to a database. It *gathers* what changed into
//! [`Persist`] messages and hands them to a [`PersistSink`] (a bounded
//! channel); a writer elsewhere (`gsp-persistence`) applies them. A
//! [`WorldSave`] is applied atomically, in one transaction that also
//! advances the save generation. If the channel is full, nothing is lost:
//! the changes stay pending and go out with the next save.
//!
//! At start the binary loads the last complete save ([`SavedWorld`]) and
//! restores it before the first tick.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::character::AccountId;
pub use crate::character::{AttributeMap, CharacterState};
use crate::components::{Body, BodyKind, Shape};
use crate::math::Vec3;

/// A persistent entity's saved state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityRecord {
    /// Its stable key, unique in the world (`football:ball`).
    pub key: Arc<str>,
    /// The replicated kind (`KIND_PROP`...).
    pub kind: u8,
    /// Position.
    pub position: Vec3,
    /// Rotation, a unit quaternion (x, y, z, w).
    pub rotation: [f32; 4],
    /// Velocity.
    pub velocity: Vec3,
    /// Its physical body, if it has one.
    pub body: Option<SavedBody>,
    /// Mod-defined attributes.
    pub attributes: AttributeMap,
}

/// A [`Body`] in serialisable form.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SavedBody {
    /// 0 dynamic, 1 kinematic, 2 fixed.
    pub kind: u8,
    /// `[0, radius, 0, 0]` ball, `[1, hx, hy, hz]` cuboid, `[2, half_height, radius, 0]` capsule.
    pub shape: [f32; 4],
    /// Density, kg/m³.
    pub density: f32,
    /// Friction.
    pub friction: f32,
    /// Restitution.
    pub restitution: f32,
}

impl From<&Body> for SavedBody {
    fn from(b: &Body) -> Self {
        SavedBody {
            kind: match b.kind {
                BodyKind::Dynamic => 0,
                BodyKind::Kinematic => 1,
                BodyKind::Fixed => 2,
            },
            shape: match b.shape {
                Shape::Ball { radius } => [0.0, radius, 0.0, 0.0],
                Shape::Cuboid { half } => [1.0, half.x, half.y, half.z],
                Shape::Capsule {
                    half_height,
                    radius,
                } => [2.0, half_height, radius, 0.0],
            },
            density: b.density,
            friction: b.friction,
            restitution: b.restitution,
        }
    }
}

impl From<&SavedBody> for Body {
    fn from(s: &SavedBody) -> Self {
        Body {
            kind: match s.kind {
                1 => BodyKind::Kinematic,
                2 => BodyKind::Fixed,
                _ => BodyKind::Dynamic,
            },
            shape: match s.shape[0] as u8 {
                1 => Shape::Cuboid {
                    half: Vec3::new(s.shape[1], s.shape[2], s.shape[3]),
                },
                2 => Shape::Capsule {
                    half_height: s.shape[1],
                    radius: s.shape[2],
                },
                _ => Shape::Ball { radius: s.shape[1] },
            },
            density: s.density,
            friction: s.friction,
            restitution: s.restitution,
        }
    }
}

/// One incremental world save: what changed since the previous one. The
/// writer applies it in one transaction and records it as the next
/// generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorldSave {
    /// The tick it was gathered at.
    pub tick: u64,
    /// Entities new or changed since the last save.
    pub upserts: Vec<EntityRecord>,
    /// Keys of entities removed since the last save.
    pub removals: Vec<Arc<str>>,
    /// Mods whose `gsp.storage` changed: (mod name, storage as JSON).
    pub mod_storage: Vec<(String, serde_json::Value)>,
    /// Characters of players online, saved with the world.
    pub characters: Vec<(AccountId, CharacterState)>,
}

/// Everything the last complete save holds, as loaded at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SavedWorld {
    /// The generation (0: never saved).
    pub generation: u64,
    /// The tick of that save.
    pub tick: u64,
    /// Persistent entities.
    pub entities: Vec<EntityRecord>,
    /// Mod storage by mod name.
    pub mod_storage: Vec<(String, serde_json::Value)>,
}

/// A message from the tick thread to the persistence writer.
#[derive(Debug, Clone, PartialEq)]
pub enum Persist {
    /// A world save (incremental).
    World(WorldSave),
    /// A character, saved when its player leaves or is taken over.
    Character(AccountId, CharacterState),
}

/// The channel the world's saves go through: a resource of worlds that persist.
#[derive(Debug, Clone)]
pub struct PersistSink {
    /// Towards the writer.
    pub tx: crossbeam_channel::Sender<Persist>,
}
