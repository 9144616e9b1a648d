//! Saves: the tick thread gathers what changed; a writer elsewhere writes it.
//!
//! Every `interval` (and at shutdown) [`save_world`] walks the
//! [`Persistent`] entities and compares each with what the last save held
//! (a cache of positions, rotations, velocities and the change tick of its
//! [`Attributes`]): only entities that moved, turned or had their attributes
//! written go into the [`WorldSave`], with the keys of entities gone since.
//! Physics writes poses back without change detection, which is why poses
//! are compared by value and attributes by change tick. Characters of the
//! players online and mod storage ride along.
//!
//! The save is *offered* to the [`PersistSink`] with `try_send`: if the
//! writer is behind and the channel is full, the cache is left as it was,
//! so the same changes (and any newer ones) go out with the next save.
//! Nothing is lost and the tick never waits.

use std::collections::{HashMap, VecDeque};

use bevy_ecs::entity::EntityHashMap;
use std::sync::Arc;

use bevy_ecs::change_detection::{DetectChanges, Tick};
use bevy_ecs::prelude::*;
use bevy_ecs::world::Ref;
use crossbeam_channel::TrySendError;

use crate::accounts::AccountId;
use crate::components::*;
use crate::map::WorldMap;
use crate::math::Vec3;
use crate::persist::{
    CharacterState, EntityRecord, Persist, PersistSink, SavedBody, SavedWorld, WorldSave,
};

/// What [`ModStorageHook`] calls: every mod's storage, by mod name.
pub type StorageFn = dyn FnMut(&mut World) -> Vec<(String, serde_json::Value)> + Send + Sync;

/// Gives the storage of every mod, for saves: installed by the scripting
/// crate, which the engine does not know.
#[derive(Resource)]
pub struct ModStorageHook(pub Box<StorageFn>);

/// Mod storage loaded from the last save, for the scripting crate to hand
/// each mod when it loads.
#[derive(Resource, Debug, Default, Clone)]
pub struct RestoredStorage(pub HashMap<String, serde_json::Value>);

/// When the world saves, and what the last save held.
#[derive(Resource)]
pub struct SaveState {
    sink: PersistSink,
    /// Ticks between periodic saves (0: only at shutdown).
    interval_ticks: u64,
    next_due: u64,
    /// What the last save held, by entity (hashing entities is far
    /// cheaper than hashing keys).
    cache: EntityHashMap<Saved>,
    /// Character saves the channel had no room for, retried every tick.
    backlog: VecDeque<Persist>,
    /// Counts gathers, to find cached keys not seen in this one.
    pass: u32,
    /// Saves handed to the writer.
    pub saves_sent: u64,
    /// Saves put off because the writer was behind.
    pub saves_deferred: u64,
}

#[derive(Debug, Clone)]
struct Saved {
    key: Arc<str>,
    position: Vec3,
    rotation: [f32; 4],
    velocity: Vec3,
    attributes_at: Tick,
    seen: u32,
}

impl SaveState {
    /// Saves go to `sink`, every `interval_ticks` ticks (0: only when
    /// asked, as at shutdown).
    pub fn new(sink: PersistSink, interval_ticks: u64) -> Self {
        SaveState {
            sink,
            interval_ticks,
            next_due: interval_ticks,
            cache: EntityHashMap::default(),
            backlog: VecDeque::new(),
            pass: 0,
            saves_sent: 0,
            saves_deferred: 0,
        }
    }

    /// Sends `message`, or keeps it for the next tick if the channel is full.
    pub fn send_or_keep(&mut self, message: Persist) {
        if !self.backlog.is_empty() {
            self.backlog.push_back(message);
            return;
        }
        match self.sink.tx.try_send(message) {
            Ok(()) => {}
            Err(TrySendError::Full(m)) => self.backlog.push_back(m),
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("the save writer is gone; a character save was lost");
            }
        }
    }

    fn drain_backlog(&mut self) -> bool {
        while let Some(m) = self.backlog.pop_front() {
            match self.sink.tx.try_send(m) {
                Ok(()) => {}
                Err(TrySendError::Full(m)) => {
                    self.backlog.push_front(m);
                    return false;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.backlog.clear();
                    return false;
                }
            }
        }
        true
    }
}

/// The periodic save: runs every tick, gathers only when a save is due.
pub fn save_world(world: &mut World) {
    // Ticks completed at the end of this one.
    let done = world.resource::<TickTime>().tick + 1;
    let Some(mut state) = world.get_resource_mut::<SaveState>() else {
        return;
    };
    let clear = state.drain_backlog();
    if !clear || state.interval_ticks == 0 || done < state.next_due {
        return;
    }
    state.next_due = done + state.interval_ticks;
    save_now(world, false);
}

/// Gathers a save now and offers it to the writer; returns whether it was
/// accepted. With `wait` (the final save at shutdown) it waits for room in
/// the channel, after the character saves still queued. Does nothing (and
/// returns false) for a world without saves.
pub fn save_now(world: &mut World, wait: bool) -> bool {
    if !world.contains_resource::<SaveState>() {
        return false;
    }
    let storage = match world.remove_resource::<ModStorageHook>() {
        Some(mut hook) => {
            let storage = (hook.0)(world);
            world.insert_resource(hook);
            storage
        }
        None => Vec::new(),
    };
    let characters = characters(world);
    let now = world.change_tick();
    let tick = world.resource::<TickTime>().tick;
    world.resource_scope(|world, mut state: Mut<SaveState>| {
        state.pass = state.pass.wrapping_add(1);
        let pass = state.pass;
        let mut save = WorldSave {
            tick,
            mod_storage: storage,
            characters,
            ..WorldSave::default()
        };
        let mut changed_entities: Vec<Entity> = Vec::new();
        let mut query = world.query::<(
            Entity,
            &Persistent,
            &Position,
            Option<&Rotation>,
            Option<&Velocity>,
            Option<&Replicated>,
            Option<&Body>,
            Option<Ref<Attributes>>,
        )>();
        let state = &mut *state;
        for (entity, persistent, position, rotation, velocity, replicated, body, attributes) in
            query.iter(world)
        {
            let rotation = rotation.copied().unwrap_or_default().0;
            let velocity = velocity.map_or(Vec3::ZERO, |v| v.0);
            let attributes_at = attributes
                .as_ref()
                .map_or(Tick::new(0), |a| a.last_changed());
            // Updated in place; a save the writer does not take marks its
            // entries unsaved again (see below).
            let saved = state.cache.entry(entity).or_insert_with(|| Saved {
                key: persistent.key.clone(),
                position: Vec3::new(f32::NAN, f32::NAN, f32::NAN),
                rotation,
                velocity,
                attributes_at: now,
                seen: pass,
            });
            saved.seen = pass;
            if saved.key != persistent.key {
                // Re-keyed: the old key is gone.
                save.removals
                    .push(std::mem::replace(&mut saved.key, persistent.key.clone()));
                saved.position.x = f32::NAN;
            }
            let changed = saved.position != position.0
                || saved.rotation != rotation
                || saved.velocity != velocity
                || attributes_at.is_newer_than(saved.attributes_at, now);
            if !changed {
                continue;
            }
            saved.position = position.0;
            saved.rotation = rotation;
            saved.velocity = velocity;
            saved.attributes_at = now;
            changed_entities.push(entity);
            save.upserts.push(EntityRecord {
                key: persistent.key.clone(),
                kind: replicated.map_or(KIND_PROP, |r| r.kind),
                position: position.0,
                rotation,
                velocity,
                body: body.map(SavedBody::from),
                attributes: attributes.map(|a| a.0.clone()).unwrap_or_default(),
            });
        }
        save.removals.extend(
            state
                .cache
                .values()
                .filter(|s| s.seen != pass)
                .map(|s| s.key.clone()),
        );
        let sent = if wait {
            let backlog: Vec<Persist> = state.backlog.drain(..).collect();
            backlog
                .into_iter()
                .chain([Persist::World(save)])
                .try_for_each(|m| state.sink.tx.send(m))
                .map_err(|e| TrySendError::Disconnected(e.0))
        } else {
            state.sink.tx.try_send(Persist::World(save))
        };
        match sent {
            Ok(()) => {
                state.saves_sent += 1;
                state.cache.retain(|_, s| s.seen == pass);
                true
            }
            Err(e) => {
                // Not saved after all: what changed must go out next time.
                for entity in changed_entities {
                    if let Some(saved) = state.cache.get_mut(&entity) {
                        saved.position.x = f32::NAN;
                    }
                }
                if matches!(e, TrySendError::Full(_)) {
                    state.saves_deferred += 1;
                    tracing::debug!("the save writer is behind; this save goes out with the next");
                } else {
                    tracing::error!("the save writer is gone; the world is not being saved");
                }
                false
            }
        }
    })
}

/// The characters of every logged-in player.
fn characters(world: &mut World) -> Vec<(AccountId, CharacterState)> {
    let mut query = world.query::<(&Account, &Position, &CurrentRoom, Option<&Attributes>)>();
    let map = world.resource::<WorldMap>();
    query
        .iter(world)
        .map(|(account, position, room, attributes)| {
            (account.0, character_state(map, position, room, attributes))
        })
        .collect()
}

/// An avatar's state as its character is saved.
pub fn character_state(
    map: &WorldMap,
    position: &Position,
    room: &CurrentRoom,
    attributes: Option<&Attributes>,
) -> CharacterState {
    CharacterState {
        position: position.0,
        room: room.0.map(|r| map.room(r).key.clone()),
        attributes: attributes.map(|a| a.0.clone()).unwrap_or_default(),
    }
}

/// Spawns the entities of `saved` and remembers them as saved, so that a
/// restored world does not write them again until they change. Mod storage
/// waits in [`RestoredStorage`] for the scripting crate.
pub fn restore(world: &mut World, saved: &SavedWorld) {
    let now = world.change_tick();
    let mut cached = Vec::with_capacity(saved.entities.len());
    for record in &saved.entities {
        let mut entity = world.spawn((
            Persistent {
                key: record.key.clone(),
            },
            Position(record.position),
            Rotation(record.rotation),
            Velocity(record.velocity),
            Replicated::new(record.kind),
        ));
        if let Some(body) = &record.body {
            entity.insert(Body::from(body));
        }
        if !record.attributes.is_empty() {
            entity.insert(Attributes(record.attributes.clone()));
        }
        cached.push((
            entity.id(),
            Saved {
                key: record.key.clone(),
                position: record.position,
                rotation: record.rotation,
                velocity: record.velocity,
                attributes_at: now,
                seen: 0,
            },
        ));
    }
    if let Some(mut state) = world.get_resource_mut::<SaveState>() {
        let pass = state.pass;
        state.cache.extend(
            cached
                .into_iter()
                .map(|(e, s)| (e, Saved { seen: pass, ..s })),
        );
    }
    world.insert_resource(RestoredStorage(saved.mod_storage.iter().cloned().collect()));
}

/// The entity holding persistent `key`, if any.
pub fn find_persistent(world: &mut World, key: &str) -> Option<Entity> {
    let mut query = world.query::<(Entity, &Persistent)>();
    query
        .iter(world)
        .find(|(_, p)| &*p.key == key)
        .map(|(e, _)| e)
}

/// Attributes of an avatar about to be restored from a character.
pub fn restored_attributes(character: &CharacterState) -> Option<Attributes> {
    (!character.attributes.is_empty()).then(|| Attributes(character.attributes.clone()))
}
