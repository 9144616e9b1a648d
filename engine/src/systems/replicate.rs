//! Replicate: every graphical player gets this tick's snapshot.
//!
//! The work is in [`crate::replication`]; this system feeds it the world:
//! replicated bodies first, then each graphical session's avatar, inputs
//! and acknowledgements.

use bevy_ecs::prelude::*;

use crate::components::*;
use crate::replication::Replication;
use crate::session::GatewayKind;

/// Quantizes the bodies and builds a snapshot for every graphical session.
#[allow(clippy::type_complexity)]
pub fn replicate(
    time: Res<TickTime>,
    sessions: Res<Sessions>,
    mut replication: ResMut<Replication>,
    bodies: Query<(
        Entity,
        &Replicated,
        &Position,
        Option<&Rotation>,
        Option<&Velocity>,
    )>,
    observers: Query<(&Position, &MoveIntent, &InputLink)>,
) {
    let tick = time.tick;
    let replication = &mut *replication;
    replication.begin_tick();
    for (entity, r, position, rotation, velocity) in &bodies {
        replication.update_body(
            tick,
            entity,
            r.kind,
            r.weight,
            position.0,
            rotation.copied().unwrap_or_default().0,
            velocity.copied().unwrap_or_default().0,
            r.send_velocity,
        );
    }
    replication.sweep(tick);
    replication.retain_clients(|id| sessions.by_id.contains_key(&id));
    for (&id, entry) in &sessions.by_id {
        if entry.kind != GatewayKind::Quic {
            continue;
        }
        let Ok((eye, intent, link)) = observers.get(entry.entity) else {
            continue;
        };
        let acks = link.0.take_acks();
        replication.build_snapshot(id, tick, entry.entity, eye.0, acks, intent.sequence);
    }
}
