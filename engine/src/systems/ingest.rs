//! Ingest: joins, leaves, commands and inputs enter the world.

use bevy_ecs::prelude::*;
use bevy_ecs::world::Mut;
use crossbeam_channel::{Receiver, TryRecvError};

use crate::components::*;
use crate::events::{WorldEvent, WorldEvents};
use crate::handle::{Inbound, Joining};
use crate::map::WorldMap;

use crate::persist::{CharacterState, Persist};
use crate::session::{CloseReason, Outbound, RefusalReason, SessionId, TextEvent};
use crate::systems::save::{self, SaveState};

/// The receiving ends of a world's inbound channels.
#[derive(Resource)]
pub struct Inbox {
    pub(crate) inbound: Receiver<Inbound>,
    pub(crate) leaves: Receiver<SessionId>,
}

/// Sessions to remove at the end of this tick, after their last messages are sent.
#[derive(Resource, Debug, Default)]
pub struct PendingRemovals(pub Vec<SessionId>);

/// The characters of players who left in the last
/// [`RECENTLY_LEFT_SECS`], as the world last saw them. Their saves are on
/// their way to the store; a player who logs in again before the store has
/// them gets this copy, never the older one the store still holds.
#[derive(Resource, Debug, Default)]
pub struct RecentlyLeft {
    by_account: std::collections::HashMap<crate::character::AccountId, (CharacterState, u64)>,
    /// (tick left, account), oldest first: what expires next, so that a
    /// leave costs O(1) however many left before it.
    order: std::collections::VecDeque<(u64, crate::character::AccountId)>,
}

/// How long [`RecentlyLeft`] keeps a character: far longer than a save
/// takes to reach the store.
pub const RECENTLY_LEFT_SECS: u64 = 30;

impl RecentlyLeft {
    /// Keeps `state` for `account`, left at `time`'s tick, and forgets
    /// those that left more than [`RECENTLY_LEFT_SECS`] before.
    fn keep(
        &mut self,
        account: crate::character::AccountId,
        state: CharacterState,
        time: &TickTime,
    ) {
        let keep_ticks = RECENTLY_LEFT_SECS * u64::from(time.rate.max(1));
        while let Some(&(left, old)) = self.order.front() {
            if time.tick.saturating_sub(left) <= keep_ticks {
                break;
            }
            self.order.pop_front();
            // Only if it did not leave again since.
            if self.by_account.get(&old).is_some_and(|(_, at)| *at == left) {
                self.by_account.remove(&old);
            }
        }
        self.by_account.insert(account, (state, time.tick));
        self.order.push_back((time.tick, account));
    }

    /// The character `account` left with, if it left lately.
    fn take(&mut self, account: crate::character::AccountId) -> Option<CharacterState> {
        self.by_account.remove(&account).map(|(state, _)| state)
    }
}

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
            Ok(Inbound::Join(joining)) => {
                if let Some(account) = joining.account {
                    let online = world
                        .resource::<Sessions>()
                        .by_id
                        .iter()
                        .find(|(_, e)| e.account == Some(account))
                        .map(|(&id, _)| id);
                    if let Some(old) = online {
                        take_over(world, old, joining);
                        continue;
                    }
                }
                join(world, joining);
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

/// Accepts or refuses a new player.
fn join(world: &mut World, joining: Joining) {
    let Joining {
        session,
        name,
        kind,
        account,
        character,
        outbound,
        input,
    } = joining;
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
        let _ = outbound.send(Outbound::Refused(reason));
        return;
    }
    // The world's own copy of a character that just left is newer than what
    // the gateway read from the store.
    let character = match (account, world.get_resource_mut::<RecentlyLeft>()) {
        (Some(account), Some(mut left)) => left.take(account).or(character),
        _ => character,
    };
    let map = world.resource::<WorldMap>();
    let spawn = character
        .as_ref()
        .and_then(|c| restored_position(map, c))
        .unwrap_or_else(|| map.room(map.start).spawn_point());
    let tick_rate = world.resource::<TickTime>().rate;
    let config = world.resource::<WorldConfig>();
    let quantization = config.replication.quantization;
    let walk_speed = config.walk_speed;
    let mut avatar = world.spawn((
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
    ));
    if let Some(account) = account {
        avatar.insert(Account(account));
    }
    if let Some(attributes) = character.as_ref().and_then(save::restored_attributes) {
        avatar.insert(attributes);
    }
    let entity = avatar.id();
    let setting = color_setting(world, entity);
    let left = channels_left(world.get::<Attributes>(entity));
    let tick = world.resource::<TickTime>().tick;
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
        SessionEntry::new(
            entity,
            name,
            kind,
            account,
            outbound,
            std::iter::once(Outbound::Joined {
                entity: entity.index_u32(),
                tick_rate,
                quantization,
                walk_speed,
            })
            .chain(setting)
            .collect(),
        )
        .active_at(tick)
        .with_channels_left(left),
    );
}

/// The player's colour setting, if their character keeps one.
fn color_setting(world: &World, entity: Entity) -> Option<Outbound> {
    let value = world
        .get::<Attributes>(entity)?
        .0
        .get(COLOR_ATTRIBUTE)?
        .as_str()?
        .to_owned();
    Some(Outbound::Setting {
        key: "color".into(),
        value,
    })
}

/// Where a saved character stands again: where it was if that is still in
/// a room, else its room's spawn point; `None` if neither exists any more.
fn restored_position(map: &WorldMap, character: &CharacterState) -> Option<crate::math::Vec3> {
    let p = character.position;
    if [p.x, p.y, p.z].iter().all(|c| c.is_finite()) && map.room_at(p).is_some() {
        return Some(p);
    }
    let key = character.room.as_deref()?;
    let room = map.rooms.iter().find(|r| r.key == key)?;
    Some(room.spawn_point())
}

/// Hands the avatar of session `old` to a new connection of the same
/// account: the old connection is told and closed, nobody else notices,
/// and the avatar goes on from where it stands.
fn take_over(world: &mut World, old: SessionId, joining: Joining) {
    let Some(entry) = world.resource_mut::<Sessions>().by_id.remove(&old) else {
        return;
    };
    for message in entry.outbox {
        let _ = entry.tx.send(message);
    }
    let _ = entry.tx.send(Outbound::Closed(CloseReason::TakenOver));
    let entity = entry.entity;
    if let Some(mut avatar) = world.get_mut::<Avatar>(entity) {
        avatar.session = joining.session;
    }
    world
        .entity_mut(entity)
        .insert((InputLink(joining.input), MoveIntent::default()));
    tracing::info!(old = %old, new = %joining.session, name = %entry.name, "character taken over by a new connection");
    let tick = world.resource::<TickTime>().tick;
    let setting = color_setting(world, entity);
    let tick_rate = world.resource::<TickTime>().rate;
    let config = world.resource::<WorldConfig>();
    let joined = Outbound::Joined {
        entity: entity.index_u32(),
        tick_rate,
        quantization: config.replication.quantization,
        walk_speed: config.walk_speed,
    };
    world.resource_mut::<Sessions>().by_id.insert(
        joining.session,
        SessionEntry::new(
            entity,
            entry.name,
            joining.kind,
            joining.account,
            joining.outbound,
            [
                Some(joined),
                setting,
                Some(Outbound::Text(TextEvent::Info(
                    "You take over your character from your other connection.".into(),
                ))),
            ]
            .into_iter()
            .flatten()
            .collect(),
        )
        .active_at(tick)
        .with_channels_left(entry.left_channels),
    );
    // The new connection starts by seeing where it is.
    world
        .resource_mut::<PendingCommands>()
        .0
        .push((joining.session, "look".into()));
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
    save_character(world, entry.entity);
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
    world.resource_mut::<Occupants>().leave(room, entry.entity);
    let room_key = world.resource::<WorldMap>().room(room).key.clone();
    let listeners: Vec<SessionId> = world
        .resource::<Occupants>()
        .of(room)
        .iter()
        .filter_map(|&e| world.get::<Avatar>(e).map(|a| a.session))
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

/// Sends the character of the avatar `entity` to be saved, if it belongs
/// to an account and the world saves.
pub fn save_character(world: &mut World, entity: Entity) {
    if !world.contains_resource::<SaveState>() {
        return;
    }
    let Some(account) = world.get::<Account>(entity).copied() else {
        return;
    };
    let (Some(position), Some(room)) = (
        world.get::<Position>(entity),
        world.get::<CurrentRoom>(entity),
    ) else {
        return;
    };
    let state = save::character_state(
        world.resource::<WorldMap>(),
        position,
        room,
        world.get::<Attributes>(entity),
    );
    let time = *world.resource::<TickTime>();
    if let Some(mut left) = world.get_resource_mut::<RecentlyLeft>() {
        left.keep(account.0, state.clone(), &time);
    }
    world
        .resource_mut::<SaveState>()
        .send_or_keep(Persist::Character(account.0, state));
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
