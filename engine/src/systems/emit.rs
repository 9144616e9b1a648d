//! Emit: each session gets its messages; a session that cannot keep up is
//! dropped instead of slowing the tick.

use bevy_ecs::prelude::*;
use tokio::sync::mpsc::error::TrySendError;

use crate::components::Sessions;
use crate::replication::Replication;
use crate::session::{Outbound, SessionId};
use crate::stats::WorldStats;
use crate::systems::ingest::{remove_session, PendingRemovals};

/// The shared statistics, as a resource for the systems that count.
#[derive(Resource, Clone)]
pub struct StatsHandle(pub std::sync::Arc<WorldStats>);

/// Hands every outbox to its channel, then removes finished sessions.
pub fn emit(world: &mut World) {
    let mut gone: Vec<SessionId> = std::mem::take(&mut world.resource_mut::<PendingRemovals>().0);
    let mut too_slow = 0u64;
    world.resource_scope(|world, mut replication: bevy_ecs::world::Mut<Replication>| {
        let mut sessions = world.resource_mut::<Sessions>();
        for (&id, entry) in sessions.by_id.iter_mut() {
            let snapshot = replication
                .client_mut(id)
                .and_then(|c| c.take_datagram())
                .map(|bytes| Outbound::Snapshot(bytes.to_vec()));
            for message in entry.outbox.drain(..).chain(snapshot) {
                match entry.tx.try_send(message) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        tracing::info!(session = %id, name = %entry.name, "dropping a session that cannot keep up");
                        too_slow += 1;
                        gone.push(id);
                        break;
                    }
                    Err(TrySendError::Closed(_)) => {
                        gone.push(id);
                        break;
                    }
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
