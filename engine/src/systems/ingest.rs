//! Ingest: joins, leaves, commands and inputs enter the world.

use bevy_ecs::prelude::*;
use bevy_ecs::world::Mut;
use crossbeam_channel::{Receiver, TryRecvError};

use crate::components::*;
use crate::events::{WorldEvent, WorldEvents};
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
                account: _,
                character: _,
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
                let config = world.resource::<WorldConfig>();
                let quantization = config.replication.quantization;
                let walk_speed = config.walk_speed;
                let entity = world
                    .spawn((
                        Avatar {
                            name: name.clone(),
                            session,
                        },
                        Position(spawn),
                        Rotation::default(),
                        Velocity::default(),
                        Replicated::new(KIND_AVATAR),
                        MoveIntent::default(),
                        CurrentRoom(None),
                        InputLink(input),
                    ))
                    .id();
                tracing::debug!(%session, %name, gateway = kind.name(), "joined");
                world
                    .resource_mut::<WorldEvents>()
                    .push(WorldEvent::PlayerJoin {
                        entity,
                        session,
                        name: name.clone(),
                    });
                world.resource_mut::<Sessions>().by_id.insert(
                    session,
                    SessionEntry {
                        entity,
                        name,
                        kind,
                        tx: outbound,
                        outbox: vec![Outbound::Joined {
                            entity: entity.index_u32(),
                            tick_rate,
                            quantization,
                            walk_speed,
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

/// Takes each avatar's next queued input as its movement intent for this
/// tick: one input per tick, in order. With none waiting the avatar stands
/// still, so that every input moves it exactly one tick's worth (what the
/// client predicts) and no burst of inputs moves it faster.
pub fn apply_inputs(mut avatars: Query<(&InputLink, &mut MoveIntent)>) {
    for (link, mut intent) in &mut avatars {
        let next = link.0.next_input();
        let new = match next {
            Some(input) => MoveIntent {
                x: input.move_x.clamp(-1.0, 1.0),
                z: input.move_z.clamp(-1.0, 1.0),
                sequence: input.sequence,
            },
            None => MoveIntent {
                x: 0.0,
                z: 0.0,
                sequence: intent.sequence,
            },
        };
        // Written only when it differs, so change detection stays meaningful.
        if *intent != new {
            *intent = new;
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
    world
        .resource_mut::<WorldEvents>()
        .push(WorldEvent::PlayerLeave {
            entity: entry.entity,
            session,
            name: entry.name.clone(),
        });
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
