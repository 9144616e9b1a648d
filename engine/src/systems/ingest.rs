//! Ingest: joins, leaves, commands and inputs enter the world.

use bevy_ecs::prelude::*;
use bevy_ecs::world::Mut;
use crossbeam_channel::{Receiver, TryRecvError};

use crate::components::*;
use crate::map::WorldMap;
use crate::session::{Inbound, Outbound, RefusalReason, SessionId, TextEvent};

/// The receiving ends of a world's inbound channels.
#[derive(Resource)]
pub struct Inbox {
    pub(crate) inbound: Receiver<Inbound>,
    pub(crate) leaves: Receiver<SessionId>,
}

/// Sessions to remove at the end of this tick, after their last messages are sent.
#[derive(Resource, Debug, Default)]
pub struct PendingRemovals(pub Vec<SessionId>);

/// Whether the world is stopping (joins are refused).
#[derive(Resource, Debug, Default)]
pub struct ShuttingDown(pub bool);

/// The most inbound messages one tick takes; the rest wait for the next tick,
/// so a flood delays commands but never stretches a tick.
pub const MAX_INBOUND_PER_TICK: usize = 20_000;

/// Whether `name` is acceptable: 2 to 16 ASCII letters, digits, `-` or `_`,
/// starting with a letter.
pub fn valid_name(name: &str) -> bool {
    (2..=16).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Drains the inbound queue.
pub fn ingest(world: &mut World) {
    world.resource_scope(|world, inbox: Mut<Inbox>| drain_inbox(world, &inbox));
}

fn drain_inbox(world: &mut World, inbox: &Inbox) {
    for _ in 0..MAX_INBOUND_PER_TICK {
        match inbox.inbound.try_recv() {
            Ok(Inbound::Join {
                session,
                name,
                kind,
                outbound,
                input,
            }) => {
                let refusal = if world.resource::<ShuttingDown>().0 {
                    Some(RefusalReason::ShuttingDown)
                } else if !valid_name(&name) {
                    Some(RefusalReason::BadName)
                } else if world.resource::<Sessions>().name_in_use(&name) {
                    Some(RefusalReason::NameTaken)
                } else if world.resource::<Sessions>().by_id.len()
                    >= world.resource::<WorldConfig>().max_players
                {
                    Some(RefusalReason::ServerFull)
                } else {
                    None
                };
                if let Some(reason) = refusal {
                    // The gateway is waiting for exactly this message.
                    let _ = outbound.try_send(Outbound::Refused(reason));
                    continue;
                }
                let map = world.resource::<WorldMap>();
                let spawn = map.room(map.start).spawn_point();
                let tick_rate = world.resource::<TickTime>().rate;
                let entity = world
                    .spawn((
                        Avatar {
                            name: name.clone(),
                            session,
                        },
                        Position(spawn),
                        MoveIntent::default(),
                        CurrentRoom(None),
                        InputLink(input),
                    ))
                    .id();
                tracing::debug!(%session, %name, gateway = kind.name(), "joined");
                world.resource_mut::<Sessions>().by_id.insert(
                    session,
                    SessionEntry {
                        entity,
                        name,
                        kind,
                        tx: outbound,
                        outbox: vec![Outbound::Joined {
                            entity: entity.to_bits(),
                            tick_rate,
                        }],
                    },
                );
            }
            Ok(Inbound::Command { session, text }) => {
                world
                    .resource_mut::<PendingCommands>()
                    .0
                    .push((session, text));
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    while let Ok(session) = inbox.leaves.try_recv() {
        remove_session(world, session);
    }
}

/// Copies each avatar's newest input into its movement intent.
pub fn apply_inputs(mut avatars: Query<(&InputLink, &mut MoveIntent)>) {
    for (link, mut intent) in &mut avatars {
        if let Some(input) = link.0.latest() {
            if input.sequence != intent.sequence {
                *intent = MoveIntent {
                    x: input.move_x.clamp(-1.0, 1.0),
                    z: input.move_z.clamp(-1.0, 1.0),
                    sequence: input.sequence,
                };
            }
        }
    }
}

/// Despawns a session's avatar and tells its room. Does nothing if the
/// session is already gone.
pub fn remove_session(world: &mut World, session: SessionId) {
    let Some(entry) = world.resource_mut::<Sessions>().by_id.remove(&session) else {
        return;
    };
    let room = world.get::<CurrentRoom>(entry.entity).and_then(|r| r.0);
    world.despawn(entry.entity);
    tracing::debug!(%session, name = %entry.name, "left");
    let Some(room) = room else { return };
    let room_key = world.resource::<WorldMap>().room(room).key.clone();
    let mut occupants = world.query::<(&Avatar, &CurrentRoom)>();
    let listeners: Vec<SessionId> = occupants
        .iter(world)
        .filter(|(_, r)| r.0 == Some(room))
        .map(|(a, _)| a.session)
        .collect();
    let mut sessions = world.resource_mut::<Sessions>();
    for listener in listeners {
        sessions.send(
            listener,
            Outbound::Text(TextEvent::Departed {
                name: entry.name.clone(),
                room: room_key.clone(),
                to: None,
                quit: true,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names() {
        assert!(valid_name("ada"));
        assert!(valid_name("bot-17_x"));
        assert!(!valid_name("a"));
        assert!(!valid_name("1ada"));
        assert!(!valid_name("ada lovelace"));
        assert!(!valid_name("ädä"));
        assert!(!valid_name(&"a".repeat(17)));
    }
}
