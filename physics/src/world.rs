//! The [`Physics`] resource: rapier's sets, and which entity owns what in them.

use std::sync::Mutex;

use bevy_ecs::entity::EntityHashMap;
use bevy_ecs::prelude::*;
use gsp_engine::components::TickTime;
use rapier3d::math::Vector;
use rapier3d::prelude::*;

use crate::mover::{Character, CharacterMover, CrowdMoves};
pub use crate::settings::PhysicsSettings;

/// The rapier world of a game world, as a resource.
///
/// Rapier keeps its own copy of every body's pose; the ECS components
/// ([`Position`](gsp_engine::components::Position) and friends) are the
/// world's truth for everyone else. The systems of this crate keep the two
/// in step, touching only what changed (see the [crate documentation](crate)).
#[derive(Resource)]
pub struct Physics {
    /// Rapier's sets, pipeline and parameters. Read it freely; changing it
    /// behind the systems' back desynchronises the ECS.
    pub rapier: PhysicsWorld,
    /// Moves avatars.
    pub(crate) mover: CharacterMover,
    /// Props: entities with a [`Body`](gsp_engine::Body).
    pub(crate) bodies: EntityHashMap<(RigidBodyHandle, ColliderHandle)>,
    /// Avatars.
    pub(crate) characters: EntityHashMap<Character>,
    /// Entities with a [`Sensor`](gsp_engine::Sensor).
    pub(crate) sensors: EntityHashMap<ColliderHandle>,
    /// The map's floors and walls.
    pub(crate) statics: Vec<ColliderHandle>,
    /// Sensor events of the last step.
    pub(crate) events: SensorEvents,
    /// Character collisions of one move, reused.
    pub(crate) collisions: Vec<rapier3d::control::CharacterCollision>,
    /// Avatars kept apart, reused every tick.
    pub(crate) crowd: CrowdMoves,
    /// The avatars of this tick's move and their walking direction, reused.
    pub(crate) walkers: Vec<(Entity, Option<[f32; 2]>)>,
}

impl Physics {
    /// How many avatars the last tick left at rest, moved on open floor,
    /// and moved through the character controller.
    pub fn move_paths(&self) -> [usize; 3] {
        let mut paths = [0; 3];
        for c in self.characters.values() {
            paths[c.last_path as usize] += 1;
        }
        paths
    }

    /// An empty rapier world stepping `dt` seconds per tick.
    pub fn new(dt: f32, settings: PhysicsSettings) -> Physics {
        let mut rapier = PhysicsWorld::new();
        rapier.gravity = Vector::new(0.0, -settings.gravity, 0.0);
        rapier.integration_parameters.dt = dt;
        Physics {
            rapier,
            mover: CharacterMover::new(settings),
            bodies: EntityHashMap::default(),
            characters: EntityHashMap::default(),
            sensors: EntityHashMap::default(),
            statics: Vec::new(),
            events: SensorEvents::default(),
            collisions: Vec::new(),
            crowd: CrowdMoves::new(),
            walkers: Vec::new(),
        }
    }

    /// The settings avatars are built with.
    pub fn settings(&self) -> &PhysicsSettings {
        &self.mover.settings
    }

    /// Rigid bodies in rapier: one per prop and one per avatar.
    pub fn body_count(&self) -> usize {
        self.rapier.bodies.len()
    }

    /// Colliders in rapier: props, avatars, sensors and the map's solids.
    pub fn collider_count(&self) -> usize {
        self.rapier.colliders.len()
    }

    /// The rapier body of `entity` (a prop or an avatar), if it has one.
    pub fn body_of(&self, entity: Entity) -> Option<RigidBodyHandle> {
        self.bodies
            .get(&entity)
            .map(|b| b.0)
            .or_else(|| self.characters.get(&entity).map(|c| c.body))
    }

    /// The collider of the sensor on `entity`, if it has one.
    pub fn sensor_of(&self, entity: Entity) -> Option<ColliderHandle> {
        self.sensors.get(&entity).copied()
    }

    /// The world's tick length, for the rapier step.
    pub(crate) fn set_dt(&mut self, time: &TickTime) {
        self.rapier.integration_parameters.dt = time.dt;
    }
}

/// Sensor start and stop events, collected during a step.
#[derive(Default)]
pub(crate) struct SensorEvents(pub(crate) Mutex<Vec<CollisionEvent>>);

impl EventHandler for SensorEvents {
    fn handle_collision_event(
        &self,
        _bodies: &RigidBodySet,
        _colliders: &ColliderSet,
        event: CollisionEvent,
        _contact_pair: Option<&ContactPair>,
    ) {
        // Removals are reported when they happen (see `Physics::remove_body`).
        let removed = match event {
            CollisionEvent::Started(_, _, f) | CollisionEvent::Stopped(_, _, f) => {
                f.contains(CollisionEventFlags::REMOVED)
            }
        };
        if event.sensor() && !removed {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event);
        }
    }

    fn handle_contact_force_event(
        &self,
        _dt: f32,
        _bodies: &RigidBodySet,
        _colliders: &ColliderSet,
        _contact_pair: &ContactPair,
        _total_force_magnitude: f32,
    ) {
    }

    fn handle_soft_body_tear_event(&self, _soft_bodies: &SoftBodySet, _event: &SoftBodyTearEvent) {}
}
