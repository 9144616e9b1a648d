//! The [`Physics`] resource: rapier's sets, and which entity owns what in them.

use std::sync::Mutex;

use bevy_ecs::entity::EntityHashMap;
use bevy_ecs::prelude::*;
use gsp_engine::components::TickTime;
use gsp_engine::math::Vec3;
use rapier3d::control::{CharacterAutostep, CharacterLength, KinematicCharacterController};
use rapier3d::math::{Pose, Rotation, Vector};
use rapier3d::prelude::*;

use crate::character::{Character, CharacterMover, SKIN};

/// What [`Collider::user_data`] holds for static map geometry, which belongs
/// to no entity. Colliders of entities hold [`Entity::to_bits`].
pub(crate) const STATIC: u128 = u128::MAX;

/// How avatars are built and move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhysicsSettings {
    /// Gravity, metres per second squared, pointing down.
    pub gravity: f32,
    /// The avatar capsule's radius, metres.
    pub avatar_radius: f32,
    /// Half the height of the capsule's cylinder part, metres; the avatar is
    /// `2 * (avatar_half_height + avatar_radius)` tall.
    pub avatar_half_height: f32,
    /// The mass an avatar pushes props with, kg.
    pub avatar_mass: f32,
    /// The highest step an avatar walks up without jumping, metres.
    pub max_step: f32,
    /// The steepest slope an avatar walks up, degrees.
    pub max_slope_degrees: f32,
    /// How far down an avatar follows the ground (down steps and slopes)
    /// instead of leaving it, metres.
    pub snap_to_ground: f32,
    /// The fastest an avatar falls, metres per second.
    pub max_fall_speed: f32,
}

impl Default for PhysicsSettings {
    fn default() -> Self {
        PhysicsSettings {
            gravity: 9.81,
            avatar_radius: 0.35,
            avatar_half_height: 0.55,
            avatar_mass: 80.0,
            max_step: 0.3,
            max_slope_degrees: 45.0,
            snap_to_ground: 0.5,
            max_fall_speed: 50.0,
        }
    }
}

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
}

impl Physics {
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

    /// Removes the body of `entity` and its collider, if it has one: the
    /// sensors it was inside are told it left.
    pub(crate) fn remove_body(
        &mut self,
        entity: Entity,
        body: RigidBodyHandle,
        collider: ColliderHandle,
        events: &mut gsp_engine::WorldEvents,
        sensor_names: impl Fn(Entity) -> Option<String>,
    ) {
        crate::sensors::leave_all(self, entity, collider, events, sensor_names);
        self.rapier.remove_body(body);
    }

    /// The world's tick length, for the rapier step.
    pub(crate) fn set_dt(&mut self, time: &TickTime) {
        self.rapier.integration_parameters.dt = time.dt;
    }
}

/// The character controller for `settings`: no snap to ground (see
/// [`CharacterMover`]).
pub(crate) fn controller(settings: &PhysicsSettings) -> KinematicCharacterController {
    KinematicCharacterController {
        up: Vector::Y,
        offset: CharacterLength::Absolute(SKIN),
        slide: true,
        autostep: Some(CharacterAutostep {
            max_height: CharacterLength::Absolute(settings.max_step),
            min_width: CharacterLength::Absolute(0.15),
            include_dynamic_bodies: false,
        }),
        max_slope_climb_angle: settings.max_slope_degrees.to_radians(),
        min_slope_slide_angle: settings.max_slope_degrees.to_radians(),
        snap_to_ground: None,
        ..KinematicCharacterController::default()
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

/// Engine vector to rapier vector.
pub(crate) fn to_rapier(v: Vec3) -> Vector {
    Vector::new(v.x, v.y, v.z)
}

/// Rapier vector to engine vector.
pub(crate) fn to_engine(v: Vector) -> Vec3 {
    Vec3::new(v.x, v.y, v.z)
}

/// Engine quaternion (x, y, z, w) to rapier rotation, normalised; the
/// identity if it cannot be.
pub(crate) fn rotation_to_rapier(q: [f32; 4]) -> Rotation {
    let r = Rotation::from_xyzw(q[0], q[1], q[2], q[3]);
    let len = r.length();
    if len.is_finite() && len > 1e-6 {
        r / len
    } else {
        Rotation::IDENTITY
    }
}

/// A pose from an engine position and rotation.
pub(crate) fn pose(position: Vec3, rotation: [f32; 4]) -> Pose {
    Pose::from_parts(to_rapier(position), rotation_to_rapier(rotation))
}

/// Whether every coordinate is finite.
pub(crate) fn finite(v: Vec3) -> bool {
    v.x.is_finite() && v.y.is_finite() && v.z.is_finite()
}

/// The collider for a shape, or why it cannot be built.
pub(crate) fn collider_for(shape: &gsp_engine::Shape) -> Result<ColliderBuilder, String> {
    let positive = |v: f32| v.is_finite() && v > 0.0;
    match *shape {
        gsp_engine::Shape::Ball { radius } if positive(radius) => Ok(ColliderBuilder::ball(radius)),
        gsp_engine::Shape::Cuboid { half }
            if positive(half.x) && positive(half.y) && positive(half.z) =>
        {
            Ok(ColliderBuilder::cuboid(half.x, half.y, half.z))
        }
        gsp_engine::Shape::Capsule {
            half_height,
            radius,
        } if positive(radius) && half_height.is_finite() && half_height >= 0.0 => {
            Ok(ColliderBuilder::capsule_y(half_height, radius))
        }
        other => Err(format!("{other:?} has no positive, finite size")),
    }
}
