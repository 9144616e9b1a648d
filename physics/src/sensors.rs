//! Trigger volumes: rapier's sensor events as [`WorldEvent::Trigger`].
//!
//! A [`Sensor`] is a rapier sensor collider with collision events on, and
//! its active collision types widened to kinematic bodies: rapier skips
//! kinematic-against-fixed pairs by default, and avatars are kinematic
//! bodies moved by the character controller (their velocity carries them
//! during the step, so the narrow phase sees them where they end up).
//! Rapier reports a start when a collider begins to overlap the sensor and
//! a stop when it no longer does; [`raise_triggers`] turns those into
//! `entered: true` and `entered: false` events. A body or avatar removed
//! while inside a sensor leaves it at that moment (`leave_all`).

use bevy_ecs::prelude::*;
use gsp_engine::{Sensor, WorldEvent, WorldEvents};
use rapier3d::prelude::*;

use crate::convert::entity_of;
use crate::world::Physics;

/// Pushes the trigger events of the last step.
pub fn raise_triggers(
    physics: Res<Physics>,
    mut events: ResMut<WorldEvents>,
    sensors: Query<&Sensor>,
) {
    let raised = std::mem::take(&mut *physics.events.0.lock().unwrap_or_else(|e| e.into_inner()));
    if !events.listening {
        return;
    }
    let colliders = &physics.rapier.colliders;
    for event in raised {
        let (a, b) = (event.collider1(), event.collider2());
        let (Some(ca), Some(cb)) = (colliders.get(a), colliders.get(b)) else {
            continue;
        };
        // The sensor and what crossed it, whichever order rapier names them in.
        let (sensor, other) = if ca.is_sensor() { (ca, cb) } else { (cb, ca) };
        let (Some(sensor), Some(other)) = (entity_of(sensor.user_data), entity_of(other.user_data))
        else {
            continue;
        };
        let Ok(s) = sensors.get(sensor) else {
            continue;
        };
        events.push(WorldEvent::Trigger {
            sensor,
            name: s.name.clone(),
            other,
            entered: event.started(),
        });
    }
}

/// Tells every sensor that `collider` (of `entity`) is inside that it left:
/// called just before the collider is removed.
pub(crate) fn leave_all(
    physics: &Physics,
    entity: Entity,
    collider: ColliderHandle,
    events: &mut WorldEvents,
    sensor_names: impl Fn(Entity) -> Option<String>,
) {
    if !events.listening {
        return;
    }
    let colliders = &physics.rapier.colliders;
    for (a, b, intersecting) in physics
        .rapier
        .narrow_phase
        .intersection_pairs_with(collider)
    {
        if !intersecting {
            continue;
        }
        let other = if a == collider { b } else { a };
        let Some(sensor) = colliders
            .get(other)
            .filter(|c| c.is_sensor())
            .and_then(|c| entity_of(c.user_data))
        else {
            continue;
        };
        if let Some(name) = sensor_names(sensor) {
            events.push(WorldEvent::Trigger {
                sensor,
                name,
                other: entity,
                entered: false,
            });
        }
    }
}

/// Removes the body of `entity` and its collider: the sensors it was inside
/// are told it left.
pub(crate) fn remove_body(
    physics: &mut Physics,
    entity: Entity,
    body: RigidBodyHandle,
    collider: ColliderHandle,
    events: &mut WorldEvents,
    sensor_names: impl Fn(Entity) -> Option<String>,
) {
    leave_all(physics, entity, collider, events, sensor_names);
    physics.rapier.remove_body(body);
}
