//! Physics for GSP worlds: rapier3d stepped inside the engine's *simulate* stage.
//!
//! It runs on the tick thread of the world server (`gsp world`, and the
//! default world of `gsp up`), which installs it into its
//! [`GameWorld`]; benchmarks install it into a bare ECS world.
//!
//! [`install`] adds it to a [`GameWorld`]: a [`Physics`] resource holding
//! rapier's world, the map's solids as fixed colliders, and these systems,
//! in order, in [`TickStage::Simulate`]:
//!
//! 1. [`map::sync_map`]: rebuilds the static colliders if the
//!    [`WorldMap`] resource was replaced.
//! 2. [`sync::sync_bodies`] and [`sync::sync_sensors`]: entities that got a
//!    [`Body`](gsp_engine::Body) or a [`Sensor`](gsp_engine::Sensor) get a
//!    rapier body or sensor collider; those that lost it (or were despawned)
//!    lose it; `Position`, `Rotation` and `Velocity` written from outside
//!    (a mod) are copied into rapier.
//! 3. [`character::sync_characters`]: avatars get a capsule body when they
//!    appear and lose it when they go; an avatar whose `Position` was
//!    written from outside (`go north`) is teleported there.
//! 4. [`character::move_characters`]: the crowd pass keeps avatars apart
//!    ([`crowd`]), then rapier's kinematic character controller walks each
//!    avatar that moves (gravity, slopes, steps, walls), pushing props it
//!    runs into.
//! 5. [`sync::step`]: one rapier step of one tick.
//! 6. [`sync::write_back`]: the pose and velocity of every body rapier
//!    moved go back to the ECS.
//! 7. [`sensors::raise_triggers`]: bodies and avatars entering or leaving a
//!    sensor become [`WorldEvent::Trigger`](gsp_engine::WorldEvent::Trigger)s
//!    for mods.
//!
//! # Only what changed
//!
//! Rapier keeps its own copy of every pose, so the ECS and rapier must agree
//! without copying the world twice a tick. The rule: *physics writes the
//! ECS without marking it changed* (bevy's `bypass_change_detection`), so a
//! `Changed<Position>` (or `Rotation`, `Velocity`) seen by the next tick's
//! sync can only be a write from outside, and only those are copied into
//! rapier. Back the other way, only rapier's *active* bodies are read: a
//! crate at rest costs nothing. The replication stage does not rely on
//! change detection (it reads every replicated entity's position each
//! tick), so it sees what physics wrote.
//!
//! # Positions
//!
//! A prop's `Position` is its centre. An avatar's is the point on the floor
//! at its feet, as everywhere else in the engine: its capsule's centre is
//! higher by half the capsule's height and the controller's skin.
//!
//! ```
//! use gsp_engine::components::{Position, Rotation, Velocity, Replicated, KIND_PROP};
//! use gsp_engine::{Body, GameWorld, Shape, Vec3, WorldConfig, WorldMap};
//!
//! let mut world = GameWorld::new(WorldConfig::default(), WorldMap::default_world());
//! gsp_physics::install(&mut world);
//! // A ball dropped from 3 m onto the plaza's floor.
//! let ball = world
//!     .world_mut()
//!     .spawn((
//!         Position(Vec3::new(2.0, 3.0, 2.0)),
//!         Rotation::default(),
//!         Velocity::default(),
//!         Replicated::new(KIND_PROP),
//!         Body::dynamic(Shape::Ball { radius: 0.25 }),
//!     ))
//!     .id();
//! for _ in 0..90 {
//!     world.step();
//! }
//! let y = world.world().get::<Position>(ball).unwrap().0.y;
//! assert!((y - 0.25).abs() < 0.02, "resting on the floor: {y}");
//! ```
//!
//! This crate depends on `gsp-engine` and never the other way round: the
//! composition root (`gsp world`) installs it. Without it, the engine moves
//! avatars with a kinematic stand-in on a flat floor.
//!
//! # Layout
//!
//! - [`world`]: the [`Physics`] resource: rapier's sets and which entity owns what in them.
//! - [`settings`]: [`PhysicsSettings`], gravity and how avatars are built and move.
//! - [`map`]: the map's solids as fixed colliders.
//! - [`sync`]: props and sensors from the ECS into rapier, and poses back after the step.
//! - [`character`]: the systems that give avatars a body and walk them every tick.
//! - [`mover`]: the character controller as plain code: one avatar's move over one tick.
//! - [`crowd`]: avatars kept apart by a cheap pass over a spatial hash, not by rapier.
//! - [`sensors`]: trigger volumes, rapier's sensor events as world events.
//! - `convert`: engine types to rapier's and back, and the entity behind a collider.

#![warn(missing_docs)]

pub mod character;
mod convert;
pub mod crowd;
pub mod map;
pub mod mover;
pub mod sensors;
pub mod settings;
pub mod sync;
pub mod world;

use bevy_ecs::prelude::*;
use gsp_engine::components::TickTime;
use gsp_engine::systems::simulate::ExternalMovement;
use gsp_engine::{GameWorld, TickStage, WorldMap};

pub use world::{Physics, PhysicsSettings};

/// Installs physics in `world` with the default [`PhysicsSettings`].
pub fn install(world: &mut GameWorld) {
    install_with(world, PhysicsSettings::default());
}

/// Installs physics in `world`: the [`Physics`] resource with the map's
/// solids, the marker that switches off the engine's stand-in movement, and
/// the systems of the [crate documentation](crate) in the simulate stage.
pub fn install_with(world: &mut GameWorld, settings: PhysicsSettings) {
    insert_resources(world.world_mut(), settings);
    add_systems(world.schedule_mut());
}

/// The resources of [`install_with`], for an ECS world that is not a
/// [`GameWorld`] (benchmarks): it needs the engine's [`TickTime`],
/// [`WorldMap`], [`WorldConfig`](gsp_engine::WorldConfig) and
/// [`WorldEvents`](gsp_engine::WorldEvents) resources.
pub fn insert_resources(world: &mut World, settings: PhysicsSettings) {
    let mut physics = Physics::new(world.resource::<TickTime>().dt, settings);
    map::build_statics(&mut physics, world.resource::<WorldMap>());
    world.insert_resource(physics);
    world.insert_resource(ExternalMovement);
}

/// The systems of [`install_with`], in order, in [`TickStage::Simulate`].
pub fn add_systems(schedule: &mut Schedule) {
    schedule.add_systems(
        (
            map::sync_map,
            sync::sync_bodies,
            sync::sync_sensors,
            character::sync_characters,
            character::move_characters,
            sync::step,
            sync::write_back,
            sensors::raise_triggers,
        )
            .chain()
            .in_set(TickStage::Simulate),
    );
}
