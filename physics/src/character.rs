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
//! Avatars do not meet in rapier: the controller's casts leave them out
//! (their capsules are in [`AVATARS`](crate::mover::AVATARS)), and the
//! crowd pass ([`crate::crowd`]) keeps them apart before they move, so a
//! packed crowd costs what a scattered one does. An avatar that stands on
//! the ground and is neither walking nor pushed is not moved at all, and one
//! that walks on open level floor (nothing but the floor within a few
//! centimetres of its way) is moved without the controller's casts
//! ([`CharacterMover::move_character`]).
//!
//! A `Position` written from outside (a text player's `go`, a mod) teleports
//! the avatar there; joins and teleports pick the nearest free spot if
//! someone already stands on that one (rings around it, then anywhere in
//! the room).

use bevy_ecs::prelude::*;
use gsp_engine::components::{
    Avatar, MoveIntent, Position, Rotation, TickTime, Velocity, WorldConfig,
};
use gsp_engine::math::Vec3;
use gsp_engine::{Sensor, WorldEvents, WorldMap};
use gsp_protocol::movement::walk_direction;
use rapier3d::math::{Pose, Vector};
use rapier3d::prelude::*;

use crate::convert::{finite, to_engine, user_data};
pub use crate::mover::{Character, CharacterMover, REST, SKIN};
use crate::sensors::remove_body;
use crate::world::Physics;

/// How many rings of spots around a taken one [`free_spot`] tries: 468
/// spots, enough for a crowd of several hundred around one spawn point.
const RINGS: usize = 12;

/// Random spots in the room [`free_spot`] tries when the rings are full.
const RANDOM_TRIES: usize = 32;

/// How often an avatar at rest is moved anyway (every this many ticks, at
/// staggered ticks), in case the ground under it went away.
const RECHECK_TICKS: u64 = 15;

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
            remove_body(physics, entity, c.body, c.collider, &mut events, name_of);
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
                let collider = physics.mover.avatar_collider().user_data(user_data(entity));
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
/// else a free spot somewhere in the room; `wanted` again if there is none
/// (the crowd pass then parts the avatars standing on top of each other).
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
    if let Some(bounds) = room.map(|r| map.room(r).bounds) {
        // A fixed sequence of spots spread evenly over the room (the R2
        // low-discrepancy sequence), offset by the number of avatars so that
        // each search tries new spots.
        let margin = s.avatar_radius;
        let (w, d) = (
            bounds.max.x - bounds.min.x - 2.0 * margin,
            bounds.max.z - bounds.min.z - 2.0 * margin,
        );
        for k in 0..RANDOM_TRIES {
            let n = ((physics.characters.len() + placed.len()) * RANDOM_TRIES + k) as f32;
            let x = bounds.min.x + margin + (0.5 + n * 0.754_877_7).fract() * w;
            let z = bounds.min.z + margin + (0.5 + n * 0.569_840_3).fract() * d;
            let spot = Vec3::new(x, wanted.y, z);
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
///
/// First every avatar's walk goes through the crowd pass
/// ([`CrowdMoves`](crate::mover::CrowdMoves)), which stops walkers at
/// other avatars and parts avatars that overlap; then each moves by the
/// result. An avatar at rest (standing on the ground, not walking, not
/// pushed) is not moved at all, except every `RECHECK_TICKS` ticks.
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
        crowd,
        walkers,
        ..
    } = &mut *physics;
    crowd.clear();
    walkers.clear();
    for (entity, intent, ..) in avatars.iter() {
        let Some(c) = characters.get(&entity) else {
            continue;
        };
        let walk = intent.and_then(|i| walk_direction([i.x, i.z]));
        crowd.add(
            c,
            walk.map_or([0.0, 0.0], |[x, z]| [x * stride, z * stride]),
        );
        walkers.push((entity, walk));
    }
    let moves = crowd.solve(mover);
    for (&(entity, walk), &step) in walkers.iter().zip(moves) {
        let (Some(c), Ok((_, _, mut position, rotation, velocity))) =
            (characters.get_mut(&entity), avatars.get_mut(entity))
        else {
            continue;
        };
        let recheck = (time.tick + u64::from(entity.index_u32())).is_multiple_of(RECHECK_TICKS);
        if c.at_rest(step) && !recheck {
            c.last_path = crate::mover::MovePath::Rest;
            if let Some(mut v) = velocity {
                if v.0 != Vec3::ZERO {
                    v.bypass_change_detection().0 = Vec3::ZERO;
                }
            }
            continue;
        }
        let moved = mover.move_character(rapier, c, step, dt, collisions);
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
