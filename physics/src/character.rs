//! Avatars: a capsule each, moved by rapier's kinematic character controller.
//!
//! Every [`Avatar`] gets a kinematic rapier body with an upright capsule
//! collider when it appears, and loses it when it goes
//! ([`sync_characters`]). Each tick [`move_characters`] asks the controller
//! to move the capsule by the avatar's walk (the shared rule of
//! [`walk_direction`] at [`WorldConfig::walk_speed`], what clients predict)
//! plus its fall, and the controller slides it along walls, up slopes and
//! steps, and down onto the ground. Props in the way are pushed with the
//! controller's collision impulses. The result becomes the avatar's
//! [`Position`] (the point at its feet), [`Velocity`] (the displacement over
//! the tick) and, when walking, its [`Rotation`].
//!
//! While on the ground an avatar does not fall: it walks level and the
//! controller's snap-to-ground keeps it on slopes and stairs going down. So
//! on flat open floor it moves by exactly `walk_speed * dt` per input and its
//! height does not change, which is what client prediction assumes.
//!
//! The body is *velocity-based* kinematic: the controller decides where the
//! capsule goes, its body gets the velocity that carries it there during the
//! step (so the contact solver pushes props with it, and sensors see it
//! arrive), and is stopped after the step ([`CharacterMover::stop_all`]).
//! A position-based body would keep that velocity between steps, and the
//! controller reads a kinematic body's velocity as a moving platform's: two
//! avatars walking into each other would shove each other back.
//!
//! A `Position` written from outside (a text player's `go`, a mod) teleports
//! the avatar there; joins and teleports pick the nearest free spot if
//! someone already stands on that one.

use bevy_ecs::prelude::*;
use gsp_engine::components::{
    Avatar, MoveIntent, Position, Rotation, TickTime, Velocity, WorldConfig,
};
use gsp_engine::math::Vec3;
use gsp_engine::{Sensor, WorldEvents, WorldMap};
use gsp_protocol::movement::walk_direction;
use rapier3d::control::{CharacterCollision, KinematicCharacterController};
use rapier3d::math::{Pose, Vector};
use rapier3d::parry::query::ShapeCastOptions;
use rapier3d::parry::shape::Capsule;
use rapier3d::prelude::*;

use crate::sync::user_data;
use crate::world::{finite, to_engine, to_rapier, Physics, PhysicsSettings};

/// An avatar's body in rapier, and how it is falling.
#[derive(Debug, Clone, Copy)]
pub struct Character {
    /// Its kinematic body.
    pub body: RigidBodyHandle,
    /// Its capsule.
    pub collider: ColliderHandle,
    /// Where the capsule's centre is (or will be after this tick's step).
    pub center: Vector,
    /// Vertical speed, metres per second (negative: falling).
    pub fall_speed: f32,
    /// Whether it stood on something after its last move.
    pub grounded: bool,
}

impl Character {
    /// A character standing (or about to fall) with its capsule centred on
    /// `center`.
    pub fn new(body: RigidBodyHandle, collider: ColliderHandle, center: Vector) -> Character {
        Character {
            body,
            collider,
            center,
            fall_speed: 0.0,
            // Assumed until its first move says otherwise, so that an avatar
            // put on the floor settles there instead of falling first.
            grounded: true,
        }
    }
}

/// Moves characters: rapier's [`KinematicCharacterController`] with the
/// [`PhysicsSettings`], gravity, and a ground-following step of its own.
///
/// The controller keeps a skin ([`SKIN`]) between the capsule and what it
/// touches. After each move, a grounded character is *settled*: a plain
/// shape cast straight down measures the gap to the ground and moves the
/// capsule so that the gap is exactly [`REST`] (down steps and slopes within
/// [`PhysicsSettings::snap_to_ground`], or up by the fraction of a millimetre
/// the controller left it short). The controller's own snap-to-ground is
/// off: its cast starts inside the skin it keeps, where the shape cast can
/// report impacts a few centimetres too far, which made resting avatars
/// bob. A settled avatar on level ground keeps its height to the bit.
#[derive(Debug, Clone)]
pub struct CharacterMover {
    /// The controller.
    pub controller: KinematicCharacterController,
    /// Every avatar's shape.
    pub capsule: Capsule,
    /// The settings it was made from.
    pub settings: PhysicsSettings,
    /// From the point at an avatar's feet to its capsule's centre.
    pub feet_to_center: f32,
}

impl CharacterMover {
    /// The mover for `settings`.
    pub fn new(settings: PhysicsSettings) -> CharacterMover {
        CharacterMover {
            controller: crate::world::controller(&settings),
            capsule: Capsule::new_y(settings.avatar_half_height, settings.avatar_radius),
            feet_to_center: settings.avatar_half_height + settings.avatar_radius + REST,
            settings,
        }
    }

    /// Moves `c` for one tick of `dt` seconds by `walk` (metres, horizontal)
    /// plus its fall, against everything in `rapier` but its own body and
    /// sensors, pushing dynamic bodies it runs into; sets its body's
    /// velocity for the step. Returns how far it moved. `collisions` is scratch
    /// space.
    pub fn move_character(
        &self,
        rapier: &mut PhysicsWorld,
        c: &mut Character,
        walk: [f32; 2],
        dt: f32,
        collisions: &mut Vec<CharacterCollision>,
    ) -> Vector {
        let s = &self.settings;
        let was_grounded = c.grounded;
        c.fall_speed = if was_grounded {
            0.0
        } else {
            (c.fall_speed - s.gravity * dt).max(-s.max_fall_speed)
        };
        let desired = Vector::new(walk[0], c.fall_speed * dt, walk[1]);
        collisions.clear();
        let filter = || {
            QueryFilter::new()
                .exclude_sensors()
                .exclude_rigid_body(c.body)
        };
        let queries = rapier.broad_phase.as_query_pipeline(
            rapier.narrow_phase.query_dispatcher(),
            &rapier.bodies,
            &rapier.colliders,
            filter(),
        );
        let movement = self.controller.move_shape(
            dt,
            &queries,
            &self.capsule,
            &Pose::from_translation(c.center),
            desired,
            |hit| collisions.push(hit),
        );
        let mut moved = movement.translation;
        c.grounded = movement.grounded;
        if (was_grounded || c.grounded) && moved.y <= 1e-3 {
            match self.ground_gap(&queries, c.center + moved) {
                Some(gap) => {
                    moved.y -= gap - REST;
                    c.grounded = true;
                }
                None => c.grounded = false,
            }
        }
        if c.grounded {
            c.fall_speed = 0.0;
        }
        if !collisions.is_empty() {
            let mut queries = rapier.broad_phase.as_query_pipeline_mut(
                rapier.narrow_phase.query_dispatcher(),
                &mut rapier.bodies,
                &mut rapier.colliders,
                filter(),
            );
            self.controller.solve_character_collision_impulses(
                dt,
                &mut queries,
                &self.capsule,
                s.avatar_mass,
                collisions.iter(),
            );
        }
        if moved.length() <= STILL {
            return Vector::ZERO;
        }
        c.center += moved;
        // Aimed from where rapier has the body, so float rounding in its
        // integration never accumulates.
        let body = &mut rapier.bodies[c.body];
        let aim = (c.center - body.translation()) / dt;
        body.set_linvel(aim, true);
        moved
    }

    /// Stops every character's body after a step. They are kinematic bodies
    /// moved by velocity (the step carries them to where the controller put
    /// them), and the controller treats a kinematic body's velocity as a
    /// moving platform's: left in place, two avatars walking into each
    /// other would shove each other back.
    pub fn stop_all<'a>(
        &self,
        rapier: &mut PhysicsWorld,
        characters: impl Iterator<Item = &'a Character>,
    ) {
        for c in characters {
            if let Some(body) = rapier.bodies.get_mut(c.body) {
                body.set_linvel(Vector::ZERO, false);
            }
        }
    }

    /// The gap between the bottom of a capsule centred on `center` and the
    /// ground under it, if there is ground within the snapping distance.
    fn ground_gap(&self, queries: &QueryPipeline<'_>, center: Vector) -> Option<f32> {
        // Cast from a little higher, so that a capsule the controller left
        // slightly inside its skin still measures a positive gap.
        let lift = REST;
        let (_, hit) = queries.cast_shape(
            &Pose::from_translation(center + Vector::Y * lift),
            -Vector::Y,
            &self.capsule,
            ShapeCastOptions {
                max_time_of_impact: lift + self.settings.snap_to_ground + REST,
                target_distance: 0.0,
                stop_at_penetration: false,
                compute_impact_geometry_on_penetration: false,
            },
        )?;
        Some(hit.time_of_impact - lift)
    }

    /// The point at the feet of a capsule centred on `center`, its height
    /// rounded to the millimetre: an avatar standing on a floor at y = 0 is
    /// at y = 0, inside the room boxes that start there.
    pub fn feet_of(&self, center: Vector) -> Vec3 {
        let mut feet = to_engine(center - Vector::Y * self.feet_to_center);
        feet.y = (feet.y * 1000.0).round() / 1000.0;
        feet
    }

    /// The capsule centre for an avatar whose feet are at `feet`.
    pub fn center_of(&self, feet: Vec3) -> Vector {
        to_rapier(feet) + Vector::Y * self.feet_to_center
    }
}

/// The gap the character controller keeps between an avatar and what it
/// walks along, metres.
pub const SKIN: f32 = 0.01;

/// The gap between a settled avatar's capsule and the ground under it,
/// metres: more than [`SKIN`], so that the controller's casts start outside
/// the skin even on a 45° slope.
pub const REST: f32 = 0.015;

/// Movements shorter than this are rounding, not movement, metres.
const STILL: f32 = 1e-5;

/// How many rings of spots around a taken one [`free_spot`] tries.
const RINGS: usize = 4;

type ArrivedOrMoved<'w, 's> = Query<
    'w,
    's,
    (Entity, Ref<'static, Avatar>, &'static mut Position),
    Or<(Added<Avatar>, Changed<Position>)>,
>;

/// Gives new avatars a character body, removes those of avatars gone, and
/// teleports avatars whose `Position` was written from outside.
pub fn sync_characters(
    mut physics: ResMut<Physics>,
    mut events: ResMut<WorldEvents>,
    map: Res<WorldMap>,
    mut removed: RemovedComponents<Avatar>,
    sensors: Query<&Sensor>,
    mut avatars: ArrivedOrMoved,
) {
    let physics = &mut *physics;
    let name_of = |e: Entity| sensors.get(e).ok().map(|s| s.name.clone());
    for entity in removed.read() {
        if let Some(c) = physics.characters.remove(&entity) {
            physics.remove_body(entity, c.body, c.collider, &mut events, name_of);
        }
    }
    // Capsules placed this tick, which rapier's queries do not see yet.
    let mut placed: Vec<Vector> = Vec::new();
    for (entity, avatar, mut position) in &mut avatars {
        let existing = physics.characters.get(&entity).copied();
        if !finite(position.0) {
            // Nowhere to go: stay (or, new, start at the map's start).
            let back = match existing {
                Some(c) => physics.mover.feet_of(c.center),
                None => map.room(map.start).spawn_point(),
            };
            position.bypass_change_detection().0 = back;
            if existing.is_some() {
                continue;
            }
        }
        let own = existing.filter(|_| !avatar.is_added()).map(|c| c.body);
        let feet = free_spot(physics, &map, position.0, own, &placed);
        if feet != position.0 {
            position.bypass_change_detection().0 = feet;
        }
        let center = physics.mover.center_of(feet);
        placed.push(center);
        match existing {
            Some(c) => {
                let body = &mut physics.rapier.bodies[c.body];
                body.set_translation(center, true);
                body.set_linvel(Vector::ZERO, false);
                physics
                    .characters
                    .insert(entity, Character::new(c.body, c.collider, center));
            }
            None => {
                let body = RigidBodyBuilder::kinematic_velocity_based()
                    .translation(center)
                    .user_data(user_data(entity));
                let s = &physics.mover.settings;
                let collider = ColliderBuilder::capsule_y(s.avatar_half_height, s.avatar_radius)
                    .user_data(user_data(entity));
                let (body, collider) = physics.rapier.insert(body, collider);
                physics
                    .characters
                    .insert(entity, Character::new(body, collider, center));
            }
        }
    }
}

/// `wanted` if an avatar fits there, else the nearest spot around it (in
/// rings, starting south) that is free, in the same room and on the ground;
/// `wanted` again if there is none.
fn free_spot(
    physics: &Physics,
    map: &WorldMap,
    wanted: Vec3,
    own: Option<RigidBodyHandle>,
    placed: &[Vector],
) -> Vec3 {
    let mover = &physics.mover;
    let s = &mover.settings;
    let spacing = 2.0 * s.avatar_radius + 0.1;
    let height = 2.0 * (s.avatar_half_height + s.avatar_radius);
    let room = map.room_at(wanted);
    let mut filter = QueryFilter::new().exclude_sensors();
    if let Some(own) = own {
        filter = filter.exclude_rigid_body(own);
    }
    let queries = physics.rapier.query_pipeline_with_filter(filter);
    let fits = |feet: Vec3| {
        let center = mover.center_of(feet);
        let clear_of_new = placed.iter().all(|p| {
            let d = *p - center;
            (d.x * d.x + d.z * d.z).sqrt() >= 2.0 * s.avatar_radius || d.y.abs() >= height
        });
        clear_of_new
            && queries
                .intersect_shape(Pose::from_translation(center), &mover.capsule)
                .next()
                .is_none()
    };
    if fits(wanted) {
        return wanted;
    }
    let grounded = |feet: Vec3| {
        let ray = Ray::new(mover.center_of(feet), -Vector::Y);
        queries
            .cast_ray(&ray, mover.feet_to_center + 0.3, true)
            .is_some()
    };
    for ring in 1..=RINGS {
        let n = 6 * ring;
        for i in 0..n {
            let angle = std::f32::consts::PI + std::f32::consts::TAU * i as f32 / n as f32;
            let r = ring as f32 * spacing;
            let spot = wanted + Vec3::new(angle.sin() * r, 0.0, angle.cos() * r);
            if map.room_at(spot) == room && fits(spot) && grounded(spot) {
                return spot;
            }
        }
    }
    wanted
}

type Walkers<'w, 's> = Query<
    'w,
    's,
    (
        Entity,
        Option<&'static MoveIntent>,
        &'static mut Position,
        Option<&'static mut Rotation>,
        Option<&'static mut Velocity>,
    ),
    With<Avatar>,
>;

/// Moves every avatar by its intent and gravity with the character
/// controller, pushing props it walks into, and writes its new position,
/// velocity and facing to the ECS (without marking them changed).
pub fn move_characters(
    mut physics: ResMut<Physics>,
    time: Res<TickTime>,
    config: Res<WorldConfig>,
    mut avatars: Walkers,
) {
    let dt = time.dt;
    let stride = config.walk_speed * dt;
    let Physics {
        rapier,
        characters,
        mover,
        collisions,
        ..
    } = &mut *physics;
    for (entity, intent, mut position, rotation, velocity) in &mut avatars {
        let Some(c) = characters.get_mut(&entity) else {
            continue;
        };
        let walk = intent.and_then(|i| walk_direction([i.x, i.z]));
        let stride = walk.map_or([0.0, 0.0], |[x, z]| [x * stride, z * stride]);
        let moved = mover.move_character(rapier, c, stride, dt, collisions);
        let feet = mover.feet_of(c.center);
        if position.0 != feet {
            position.bypass_change_detection().0 = feet;
        }
        if let Some(mut v) = velocity {
            let now = to_engine(moved / dt);
            if v.0 != now {
                v.bypass_change_detection().0 = now;
            }
        }
        if let (Some(mut r), Some([x, z])) = (rotation, walk) {
            r.bypass_change_detection().0 = Rotation::from_yaw(x.atan2(z)).0;
        }
    }
}
