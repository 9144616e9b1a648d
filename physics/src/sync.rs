//! ECS to rapier and back, for props ([`Body`]) and sensors ([`Sensor`]).
//!
//! Before the step, [`sync_bodies`] and [`sync_sensors`] apply what changed
//! in the ECS since the last tick: new components become rapier bodies and
//! colliders, removed ones (or despawned entities) are taken out, and
//! `Position`, `Rotation` or `Velocity` written from outside (a mod
//! teleporting a crate or throwing a ball) are copied into rapier. After the
//! step, [`write_back`] copies the pose and velocity of every body rapier
//! moved (its *active* bodies; sleeping ones are skipped) into the ECS with
//! [`bypass_change_detection`](bevy_ecs::change_detection::DetectChangesMut::bypass_change_detection),
//! so that the next tick's `Changed<Position>` means "someone else wrote
//! it" and nothing else.

use bevy_ecs::prelude::*;
use gsp_engine::components::{Position, Rotation, Velocity};
use gsp_engine::{Body, BodyKind, Sensor, WorldEvents};
use rapier3d::prelude::*;

use crate::convert::{collider_for, entity_of, finite, pose, to_engine, to_rapier, user_data};
use crate::sensors::remove_body;
use crate::world::Physics;

type NewBodies<'w, 's> = Query<
    'w,
    's,
    (
        Entity,
        &'static Body,
        &'static Position,
        Option<&'static Rotation>,
        Option<&'static Velocity>,
    ),
    Changed<Body>,
>;

type MovedBodies<'w, 's> = Query<
    'w,
    's,
    (
        Entity,
        Ref<'static, Body>,
        Ref<'static, Position>,
        Option<Ref<'static, Rotation>>,
        Option<Ref<'static, Velocity>>,
    ),
    (
        With<Body>,
        Or<(Changed<Position>, Changed<Rotation>, Changed<Velocity>)>,
    ),
>;

/// Props into rapier: removals, outside writes, then new (or replaced) bodies.
pub fn sync_bodies(
    mut physics: ResMut<Physics>,
    mut events: ResMut<WorldEvents>,
    mut removed: RemovedComponents<Body>,
    sensors: Query<&Sensor>,
    new: NewBodies,
    moved: MovedBodies,
) {
    let physics = &mut *physics;
    let name_of = |e: Entity| sensors.get(e).ok().map(|s| s.name.clone());
    for entity in removed.read() {
        if let Some((body, collider)) = physics.bodies.remove(&entity) {
            remove_body(physics, entity, body, collider, &mut events, name_of);
        }
    }
    for (entity, body, position, rotation, velocity) in &moved {
        if body.is_changed() {
            continue; // rebuilt below, from the new values
        }
        let Some(&(handle, _)) = physics.bodies.get(&entity) else {
            continue;
        };
        let rb = &mut physics.rapier.bodies[handle];
        let turned = rotation.as_ref().is_some_and(|r| r.is_changed());
        if (position.is_changed() || turned) && finite(position.0) {
            let to = pose(position.0, rotation.map_or(Rotation::default(), |r| *r).0);
            match body.kind {
                // Moved by whoever sets its position: it sweeps there during
                // the step, pushing what is in the way.
                BodyKind::Kinematic => rb.set_next_kinematic_position(to),
                BodyKind::Dynamic | BodyKind::Fixed => rb.set_position(to, true),
            }
        }
        if let Some(v) = velocity {
            if v.is_changed() && body.kind == BodyKind::Dynamic && finite(v.0) {
                rb.set_linvel(to_rapier(v.0), true);
            }
        }
    }
    for (entity, body, position, rotation, velocity) in &new {
        if let Some((old, collider)) = physics.bodies.remove(&entity) {
            remove_body(physics, entity, old, collider, &mut events, name_of);
        }
        let collider = match collider_for(&body.shape) {
            Ok(c) if finite(position.0) => c,
            Ok(_) => {
                tracing::warn!(
                    ?entity,
                    "a body at a position that is not finite is ignored"
                );
                continue;
            }
            Err(why) => {
                tracing::warn!(?entity, "a body is ignored: {why}");
                continue;
            }
        };
        let builder = match body.kind {
            BodyKind::Dynamic => RigidBodyBuilder::dynamic(),
            BodyKind::Kinematic => RigidBodyBuilder::kinematic_position_based(),
            BodyKind::Fixed => RigidBodyBuilder::fixed(),
        };
        let linvel = velocity
            .filter(|v| body.kind == BodyKind::Dynamic && finite(v.0))
            .map_or(Vector::ZERO, |v| to_rapier(v.0));
        let rb = builder
            .pose(pose(position.0, rotation.copied().unwrap_or_default().0))
            .linvel(linvel)
            .user_data(user_data(entity));
        let collider = collider
            .density(body.density.max(0.0))
            .friction(body.friction.max(0.0))
            .restitution(body.restitution.clamp(0.0, 1.0))
            .user_data(user_data(entity));
        let handles = physics.rapier.insert(rb, collider);
        physics.bodies.insert(entity, handles);
    }
}

type NewSensors<'w, 's> = Query<
    'w,
    's,
    (
        Entity,
        &'static Sensor,
        &'static Position,
        Option<&'static Rotation>,
    ),
    Changed<Sensor>,
>;

type MovedSensors<'w, 's> = Query<
    'w,
    's,
    (
        Entity,
        Ref<'static, Sensor>,
        &'static Position,
        Option<&'static Rotation>,
    ),
    (With<Sensor>, Or<(Changed<Position>, Changed<Rotation>)>),
>;

/// Sensors into rapier: each is a collider of its own, fixed where its
/// entity's `Position` is, that reports what enters and leaves it.
pub fn sync_sensors(
    mut physics: ResMut<Physics>,
    mut removed: RemovedComponents<Sensor>,
    new: NewSensors,
    moved: MovedSensors,
) {
    let physics = &mut *physics;
    for entity in removed.read() {
        if let Some(collider) = physics.sensors.remove(&entity) {
            physics.rapier.remove_collider(collider);
        }
    }
    for (entity, sensor, position, rotation) in &moved {
        if sensor.is_changed() || !finite(position.0) {
            continue;
        }
        if let Some(&handle) = physics.sensors.get(&entity) {
            let to = pose(position.0, rotation.copied().unwrap_or_default().0);
            physics.rapier.colliders[handle].set_position(to);
        }
    }
    for (entity, sensor, position, rotation) in &new {
        if let Some(old) = physics.sensors.remove(&entity) {
            physics.rapier.remove_collider(old);
        }
        let collider = match collider_for(&sensor.shape) {
            Ok(c) if finite(position.0) => c,
            _ => {
                tracing::warn!(?entity, name = %sensor.name, "a sensor without a finite size or position is ignored");
                continue;
            }
        };
        let collider = collider
            .sensor(true)
            .active_events(ActiveEvents::COLLISION_EVENTS)
            // A sensor is a collider without a body, which rapier counts as
            // fixed: avatars (kinematic) must be checked against it too.
            .active_collision_types(
                ActiveCollisionTypes::default() | ActiveCollisionTypes::KINEMATIC_FIXED,
            )
            .position(pose(position.0, rotation.copied().unwrap_or_default().0))
            .user_data(user_data(entity));
        let handle = physics.rapier.insert_collider(collider, None);
        physics.sensors.insert(entity, handle);
    }
}

type Props<'w, 's> = Query<
    'w,
    's,
    (
        &'static mut Position,
        Option<&'static mut Rotation>,
        Option<&'static mut Velocity>,
    ),
    With<Body>,
>;

/// The ECS side of what rapier moved: pose and velocity of every awake
/// dynamic body, written without marking them changed.
pub fn write_back(physics: Res<Physics>, mut props: Props) {
    let rapier = &physics.rapier;
    for handle in rapier.islands.active_bodies() {
        let Some(rb) = rapier.bodies.get(handle) else {
            continue;
        };
        if !rb.is_dynamic() {
            continue;
        }
        let Some(entity) = entity_of(rb.user_data) else {
            continue;
        };
        let Ok((mut position, rotation, velocity)) = props.get_mut(entity) else {
            continue;
        };
        position.bypass_change_detection().0 = to_engine(rb.translation());
        if let Some(mut r) = rotation {
            r.bypass_change_detection().0 = rb.rotation().to_array();
        }
        if let Some(mut v) = velocity {
            v.bypass_change_detection().0 = to_engine(rb.linvel());
        }
    }
}

/// Steps rapier by one tick, collecting sensor events.
pub fn step(mut physics: ResMut<Physics>, time: Res<gsp_engine::components::TickTime>) {
    let physics = &mut *physics;
    physics.set_dt(&time);
    physics.rapier.step_with_events(&(), &physics.events);
    physics
        .mover
        .stop_all(&mut physics.rapier, physics.characters.values());
}
