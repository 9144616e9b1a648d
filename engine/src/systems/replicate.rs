//! Replicate: what each graphical player sees.
//!
//! The simple form: every avatar within the interest radius, nearest first,
//! the player's own first, as many as fit one datagram. The replication issue
//! replaces this with priorities, budgets and delta compression.

use bevy_ecs::prelude::*;
use gsp_protocol::EntityState;

use crate::components::*;
use crate::math::Vec3;
use crate::session::{GatewayKind, Outbound, StateUpdate};

/// Queues a state update for every graphical session.
pub fn replicate(
    time: Res<TickTime>,
    config: Res<WorldConfig>,
    mut sessions: ResMut<Sessions>,
    avatars: Query<(Entity, &Avatar, &Position, &MoveIntent)>,
) {
    let all: Vec<(u64, Vec3)> = avatars
        .iter()
        .map(|(e, _, p, _)| (e.to_bits(), p.0))
        .collect();
    let radius_sq = config.interest_radius * config.interest_radius;
    let cap = config.max_entities_per_state.max(1);
    let mut near: Vec<(f32, EntityState)> = Vec::with_capacity(all.len());
    for (entity, avatar, position, intent) in &avatars {
        let Some(entry) = sessions.by_id.get(&avatar.session) else {
            continue;
        };
        if entry.kind != GatewayKind::Quic {
            continue;
        }
        let own = entity.to_bits();
        near.clear();
        near.extend(
            all.iter()
                .filter(|(id, _)| *id != own)
                .map(|&(id, p)| (p.distance_squared(position.0), id, p))
                .filter(|(d, _, _)| *d <= radius_sq)
                .map(|(d, id, p)| {
                    (
                        d,
                        EntityState {
                            id,
                            position: p.to_array(),
                        },
                    )
                }),
        );
        let keep = cap - 1;
        if near.len() > keep {
            near.select_nth_unstable_by(keep, |a, b| a.0.total_cmp(&b.0));
            near.truncate(keep);
        }
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut entities = Vec::with_capacity(near.len() + 1);
        entities.push(EntityState {
            id: own,
            position: position.0.to_array(),
        });
        entities.extend(near.iter().map(|(_, e)| *e));
        sessions.send(
            avatar.session,
            Outbound::State(StateUpdate {
                tick: time.tick,
                last_input: intent.sequence,
                entities,
            }),
        );
    }
}
