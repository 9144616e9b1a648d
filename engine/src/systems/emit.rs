//! Emit: each session gets its messages; a session whose own socket does
//! not drain is dropped instead of slowing the tick.
//!
//! Everything a session is sent in a tick (its outbox, then its snapshot)
//! goes into its queue ([`crate::outbound`]) here, at once, so that its
//! gateway wakes once and writes it in one go. Before that, the queue's
//! pending bytes are checked against the world's [`OutboundLimits`]: above
//! the soft limit for longer than the grace period, or above the hard limit,
//! and the session is dropped as too slow. While a session is above the soft
//! limit it is sent no snapshots (each supersedes the last anyway).

use bevy_ecs::prelude::*;

use crate::components::{Sessions, TickTime, WorldConfig};
use crate::outbound::OutboundLimits;
use crate::replication::Replication;
use crate::session::{Outbound, SessionId};
use crate::stats::WorldStats;
use crate::systems::ingest::{remove_session, PendingRemovals};

/// The shared statistics, as a resource for the systems that count.
#[derive(Resource, Clone)]
pub struct StatsHandle(pub std::sync::Arc<WorldStats>);

/// Hands every outbox to its queue, then removes finished sessions.
pub fn emit(world: &mut World) {
    let mut gone: Vec<SessionId> = std::mem::take(&mut world.resource_mut::<PendingRemovals>().0);
    let mut too_slow = 0u64;
    let time = *world.resource::<TickTime>();
    let limits = world.resource::<WorldConfig>().outbound;
    let grace_ticks = (limits.grace.as_secs_f64() * f64::from(time.rate)).ceil() as u64;
    world.resource_scope(|world, mut replication: bevy_ecs::world::Mut<Replication>| {
        let mut sessions = world.resource_mut::<Sessions>();
        for (&id, entry) in sessions.by_id.iter_mut() {
            let pending = entry.tx.pending_bytes();
            let over = pending > limits.soft_bytes;
            if over {
                let since = *entry.over_since.get_or_insert(time.tick);
                if draining_too_slowly(pending, time.tick - since, grace_ticks, &limits) {
                    tracing::info!(session = %id, name = %entry.name, pending, "dropping a session whose connection does not keep up");
                    too_slow += 1;
                    gone.push(id);
                    continue;
                }
            } else {
                entry.over_since = None;
            }
            let snapshot = replication
                .client_mut(id)
                .and_then(|c| c.take_datagram())
                .filter(|_| !over)
                .map(|bytes| Outbound::Snapshot(bytes.to_vec()));
            for message in entry.outbox.drain(..).chain(snapshot) {
                if entry.tx.send(message).is_err() {
                    gone.push(id);
                    break;
                }
            }
        }
    });
    if too_slow > 0 {
        world
            .resource::<StatsHandle>()
            .0
            .count_slow_disconnects(too_slow);
    }
    for id in gone {
        remove_session(world, id);
    }
}

/// Whether a queue holding `pending` bytes, above the soft limit for
/// `ticks_over` ticks, means the session is dropped.
fn draining_too_slowly(
    pending: usize,
    ticks_over: u64,
    grace_ticks: u64,
    limits: &OutboundLimits,
) -> bool {
    pending > limits.hard_bytes || ticks_over >= grace_ticks
}
