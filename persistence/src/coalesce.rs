//! Merging queued saves, sans I/O: while the writer is busy (or the database
//! is down), the saves the world sends pile up; they are merged into one
//! [`Batch`] so that the next write carries their combined effect.
//!
//! The rules, for a later save merged after an earlier one:
//!
//! - Within one save, removals apply before upserts (see `world`).
//! - A later upsert of a key replaces an earlier one, and cancels an
//!   earlier removal of it.
//! - A later removal of a key drops an earlier upsert of it (and is kept, to
//!   remove what an even older save stored).
//! - Mod storage and characters: the newest value of each mod or account wins.
//! - The tick is the latest save's.
//!
//! Applying the merged batch leaves the database exactly as applying the
//! saves one by one would (a property test checks this against a model).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use gsp_engine::{AccountId, CharacterState, EntityRecord, Persist, WorldSave};

/// Saves merged, waiting to be written.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Batch {
    /// World changes, if any save came in.
    world: Option<WorldChanges>,
    /// Characters, newest per account (from world saves and `Persist::Character`).
    characters: BTreeMap<AccountId, CharacterState>,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct WorldChanges {
    tick: u64,
    upserts: BTreeMap<Arc<str>, EntityRecord>,
    removals: BTreeSet<Arc<str>>,
    mod_storage: BTreeMap<String, serde_json::Value>,
}

/// What one write does: a world save (with the characters in it), or only
/// characters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Work {
    /// A world save, one generation.
    World(WorldSave),
    /// Characters alone.
    Characters(Vec<(AccountId, CharacterState)>),
}

impl Batch {
    /// Whether there is nothing to write.
    pub(crate) fn is_empty(&self) -> bool {
        self.world.is_none() && self.characters.is_empty()
    }

    /// Merges a message received after everything already in the batch.
    pub(crate) fn push(&mut self, message: Persist) {
        match message {
            Persist::World(save) => self.push_world(save),
            Persist::Character(account, state) => {
                self.characters.insert(account, state);
            }
        }
    }

    fn push_world(&mut self, save: WorldSave) {
        let world = self.world.get_or_insert_with(WorldChanges::default);
        world.tick = save.tick;
        for key in save.removals {
            world.upserts.remove(&key);
            world.removals.insert(key);
        }
        for record in save.upserts {
            world.removals.remove(&record.key);
            world.upserts.insert(record.key.clone(), record);
        }
        world.mod_storage.extend(save.mod_storage);
        self.characters.extend(save.characters);
    }

    /// Merges a batch whose messages all came after this one's.
    pub(crate) fn merge(&mut self, later: Batch) {
        if let Some(world) = later.world {
            self.push_world(world.into_save(Vec::new()));
        }
        self.characters.extend(later.characters);
    }

    /// The write this batch amounts to (`None` if empty), leaving it empty.
    /// Entities, removals and mod storage come sorted by key, each key once.
    pub(crate) fn take(&mut self) -> Option<Work> {
        let batch = std::mem::take(self);
        let characters: Vec<_> = batch.characters.into_iter().collect();
        match batch.world {
            Some(world) => Some(Work::World(world.into_save(characters))),
            None if characters.is_empty() => None,
            None => Some(Work::Characters(characters)),
        }
    }

    /// A batch holding a write that failed, to merge later messages into
    /// before retrying.
    pub(crate) fn from_work(work: Work) -> Batch {
        let mut batch = Batch::default();
        match work {
            Work::World(save) => batch.push_world(save),
            Work::Characters(characters) => batch.characters.extend(characters),
        }
        batch
    }
}

impl WorldChanges {
    fn into_save(self, characters: Vec<(AccountId, CharacterState)>) -> WorldSave {
        WorldSave {
            tick: self.tick,
            upserts: self.upserts.into_values().collect(),
            removals: self.removals.into_iter().collect(),
            mod_storage: self.mod_storage.into_iter().collect(),
            characters,
        }
    }
}

/// Makes a save storable, dropping (and describing) what the store would
/// refuse, so that one bad key cannot block every later save: entities and
/// mods whose names contain NUL, and rooms containing NUL (the character
/// then restores at the start room).
pub(crate) fn sanitize(save: &mut WorldSave) -> Vec<String> {
    let mut dropped = Vec::new();
    save.upserts.retain(|r| {
        let ok = !r.key.contains('\0');
        if !ok {
            dropped.push(format!("entity {:?}", r.key));
        }
        ok
    });
    save.removals.retain(|k| !k.contains('\0'));
    save.mod_storage.retain(|(name, _)| {
        let ok = !name.contains('\0');
        if !ok {
            dropped.push(format!("storage of mod {name:?}"));
        }
        ok
    });
    sanitize_characters(&mut save.characters, &mut dropped);
    dropped
}

/// [`sanitize`] for characters alone.
pub(crate) fn sanitize_characters(
    characters: &mut [(AccountId, CharacterState)],
    dropped: &mut Vec<String>,
) {
    for (account, state) in characters {
        if state.room.as_deref().is_some_and(|r| r.contains('\0')) {
            dropped.push(format!("room of the character of {account}"));
            state.room = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gsp_engine::Vec3;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn record(key: &str, x: f32) -> EntityRecord {
        EntityRecord {
            key: key.into(),
            kind: 1,
            position: Vec3::new(x, 0.0, 0.0),
            rotation: [0.0, 0.0, 0.0, 1.0],
            velocity: Vec3::default(),
            body: None,
            attributes: Default::default(),
        }
    }

    fn upsert(tick: u64, records: Vec<EntityRecord>) -> Persist {
        Persist::World(WorldSave {
            tick,
            upserts: records,
            ..Default::default()
        })
    }

    fn remove(tick: u64, keys: &[&str]) -> Persist {
        Persist::World(WorldSave {
            tick,
            removals: keys.iter().map(|k| Arc::from(*k)).collect(),
            ..Default::default()
        })
    }

    fn world_of(batch: &mut Batch) -> WorldSave {
        match batch.take() {
            Some(Work::World(save)) => save,
            other => panic!("expected a world save, got {other:?}"),
        }
    }

    fn character(x: f32) -> CharacterState {
        CharacterState {
            position: Vec3::new(x, 0.0, 0.0),
            room: None,
            attributes: Default::default(),
        }
    }

    #[test]
    fn a_later_upsert_wins() {
        let mut b = Batch::default();
        b.push(upsert(1, vec![record("a", 1.0), record("b", 1.0)]));
        b.push(upsert(2, vec![record("a", 2.0)]));
        let save = world_of(&mut b);
        assert_eq!(save.tick, 2);
        assert_eq!(save.upserts, vec![record("a", 2.0), record("b", 1.0)]);
        assert!(save.removals.is_empty());
        assert!(b.is_empty());
    }

    #[test]
    fn a_removal_after_an_upsert_removes_it() {
        let mut b = Batch::default();
        b.push(upsert(1, vec![record("a", 1.0), record("b", 1.0)]));
        b.push(remove(2, &["a"]));
        let save = world_of(&mut b);
        assert_eq!(save.upserts, vec![record("b", 1.0)]);
        assert_eq!(save.removals, vec![Arc::<str>::from("a")]);
    }

    #[test]
    fn an_upsert_after_a_removal_restores_it() {
        let mut b = Batch::default();
        b.push(remove(1, &["a"]));
        b.push(upsert(2, vec![record("a", 3.0)]));
        let save = world_of(&mut b);
        assert_eq!(save.upserts, vec![record("a", 3.0)]);
        assert!(save.removals.is_empty());
    }

    #[test]
    fn within_one_save_removals_come_first() {
        let mut b = Batch::default();
        b.push(Persist::World(WorldSave {
            tick: 1,
            upserts: vec![record("a", 5.0)],
            removals: vec!["a".into()],
            ..Default::default()
        }));
        let save = world_of(&mut b);
        assert_eq!(save.upserts, vec![record("a", 5.0)]);
        assert!(save.removals.is_empty());
    }

    #[test]
    fn storage_and_characters_keep_the_newest() {
        let mut b = Batch::default();
        b.push(Persist::World(WorldSave {
            tick: 1,
            mod_storage: vec![("m".into(), 1.into()), ("n".into(), 1.into())],
            characters: vec![
                (AccountId(1), character(1.0)),
                (AccountId(2), character(1.0)),
            ],
            ..Default::default()
        }));
        b.push(Persist::Character(AccountId(1), character(2.0)));
        b.push(Persist::World(WorldSave {
            tick: 2,
            mod_storage: vec![("m".into(), 2.into())],
            characters: vec![(AccountId(2), character(3.0))],
            ..Default::default()
        }));
        b.push(Persist::Character(AccountId(2), character(4.0)));
        let save = world_of(&mut b);
        assert_eq!(
            save.mod_storage,
            vec![("m".to_string(), 2.into()), ("n".to_string(), 1.into())]
        );
        assert_eq!(
            save.characters,
            vec![
                (AccountId(1), character(2.0)),
                (AccountId(2), character(4.0))
            ]
        );
    }

    #[test]
    fn characters_alone_are_a_characters_write() {
        let mut b = Batch::default();
        assert_eq!(b.take(), None);
        b.push(Persist::Character(AccountId(7), character(1.0)));
        b.push(Persist::Character(AccountId(7), character(2.0)));
        assert_eq!(
            b.take(),
            Some(Work::Characters(vec![(AccountId(7), character(2.0))]))
        );
    }

    #[test]
    fn a_failed_write_merges_with_what_came_after() {
        let mut b = Batch::default();
        b.push(upsert(1, vec![record("a", 1.0), record("b", 1.0)]));
        let failed = b.take().expect("work");
        // While the write failed, more arrived.
        b.push(remove(2, &["b"]));
        let later = std::mem::take(&mut b);
        let mut retry = Batch::from_work(failed);
        retry.merge(later);
        let save = world_of(&mut retry);
        assert_eq!(save.upserts, vec![record("a", 1.0)]);
        assert_eq!(save.removals, vec![Arc::<str>::from("b")]);
        assert_eq!(save.tick, 2);
    }

    #[test]
    fn sanitize_drops_only_what_cannot_be_stored() {
        let mut save = WorldSave {
            upserts: vec![record("ok", 1.0), record("bad\0key", 1.0)],
            mod_storage: vec![("m\0".into(), 1.into()), ("m".into(), 2.into())],
            characters: vec![(
                AccountId(1),
                CharacterState {
                    room: Some("hall\0".into()),
                    ..character(1.0)
                },
            )],
            ..Default::default()
        };
        let dropped = sanitize(&mut save);
        assert_eq!(dropped.len(), 3, "{dropped:?}");
        assert_eq!(save.upserts, vec![record("ok", 1.0)]);
        assert_eq!(save.mod_storage, vec![("m".to_string(), 2.into())]);
        assert_eq!(save.characters[0].1.room, None);
    }

    /// The model: what the database holds after applying saves one by one.
    #[derive(Debug, Default, PartialEq)]
    struct Model {
        entities: BTreeMap<Arc<str>, EntityRecord>,
        storage: BTreeMap<String, serde_json::Value>,
        characters: BTreeMap<AccountId, CharacterState>,
        tick: u64,
    }

    impl Model {
        fn apply(&mut self, save: &WorldSave) {
            self.tick = save.tick;
            for key in &save.removals {
                self.entities.remove(key);
            }
            for r in &save.upserts {
                self.entities.insert(r.key.clone(), r.clone());
            }
            self.storage.extend(save.mod_storage.iter().cloned());
            self.characters.extend(save.characters.iter().cloned());
        }
        /// A database already holding some entities, so that merged
        /// removals must still reach them.
        fn seeded() -> Model {
            let mut m = Model::default();
            for k in ["a", "c", "e"] {
                m.entities.insert(k.into(), record(k, 100.0));
            }
            m
        }
        fn apply_characters(&mut self, characters: &[(AccountId, CharacterState)]) {
            self.characters.extend(characters.iter().cloned());
        }
    }

    fn arb_message() -> impl Strategy<Value = Persist> {
        let key = prop::sample::select(vec!["a", "b", "c", "d", "e"]);
        let save = (
            0u64..100,
            prop::collection::vec((key.clone(), -10i32..10), 0..4),
            prop::collection::vec(key, 0..3),
            prop::collection::vec((prop::sample::select(vec!["m", "n"]), 0i64..5), 0..2),
            prop::collection::vec((1i64..4, -10i32..10), 0..2),
        )
            .prop_map(|(tick, ups, rems, storage, chars)| {
                Persist::World(WorldSave {
                    tick,
                    upserts: ups.into_iter().map(|(k, x)| record(k, x as f32)).collect(),
                    removals: rems.into_iter().map(Arc::from).collect(),
                    mod_storage: storage
                        .into_iter()
                        .map(|(m, v)| (m.to_string(), v.into()))
                        .collect(),
                    characters: chars
                        .into_iter()
                        .map(|(a, x)| (AccountId(a), character(x as f32)))
                        .collect(),
                })
            });
        let char_only = (1i64..4, -10i32..10)
            .prop_map(|(a, x)| Persist::Character(AccountId(a), character(x as f32)));
        prop_oneof![4 => save, 1 => char_only]
    }

    proptest! {
        /// Writing the merged batch equals writing every message in turn,
        /// however the messages are split into batches (a failed write
        /// re-merged included).
        #[test]
        fn merged_equals_sequential(
            messages in prop::collection::vec(arb_message(), 1..12),
            split in 0usize..12,
        ) {
            let mut sequential = Model::seeded();
            for m in &messages {
                match m {
                    Persist::World(save) => sequential.apply(save),
                    Persist::Character(a, c) => sequential.apply_characters(&[(*a, c.clone())]),
                }
            }
            let split = split.min(messages.len());
            let mut first = Batch::default();
            for m in messages[..split].iter().cloned() {
                first.push(m);
            }
            let mut second = Batch::default();
            for m in messages[split..].iter().cloned() {
                second.push(m);
            }
            let mut merged = match first.take() {
                Some(work) => Batch::from_work(work),
                None => Batch::default(),
            };
            merged.merge(second);
            let mut coalesced = Model::seeded();
            match merged.take() {
                Some(Work::World(save)) => coalesced.apply(&save),
                Some(Work::Characters(c)) => coalesced.apply_characters(&c),
                None => {}
            }
            // Only world saves carry a tick.
            if !messages.iter().any(|m| matches!(m, Persist::World(_))) {
                sequential.tick = 0;
            }
            prop_assert_eq!(coalesced, sequential);
        }
    }
}
