//! World saves on both backends: round trips, generations, incremental
//! saves against a model, isolation between worlds, atomicity.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::{character, entity};
use gsp_engine::{AccountId, EntityRecord, SavedWorld, WorldSave};
use gsp_persistence::{AccountStore, Backend, StoreError, WorldStore};
use gsp_store::both_backends;
use gsp_store::testing::TestDb;
use proptest::prelude::*;

fn upserts(tick: u64, records: Vec<EntityRecord>) -> WorldSave {
    WorldSave {
        tick,
        upserts: records,
        ..Default::default()
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn a_world_never_saved_loads_empty(test) {
        let store = WorldStore::new(test.db().clone(), "fresh");
        assert_eq!(store.load().await.expect("load"), SavedWorld::default());
        assert_eq!(store.generation().await.expect("generation"), 0);
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn a_save_round_trips_exactly(test) {
        let store = WorldStore::new(test.db().clone(), "w");
        let mut odd = entity("odd", 3.0);
        odd.position.x = 0.1;
        odd.velocity.z = -f32::MIN_POSITIVE;
        odd.rotation = [f32::EPSILON, -0.0, 1e-30, 0.99999994];
        let records = vec![entity("football:ball", 2.0), entity("crate:1", 1.0), odd];
        let save = WorldSave {
            tick: 1234,
            upserts: records.clone(),
            removals: vec![],
            mod_storage: vec![
                ("football".into(), serde_json::json!({ "score": [1, 2], "half": 2.5 })),
                ("empty".into(), serde_json::json!(null)),
            ],
            characters: vec![(AccountId(5), character(1.0, Some("pitch")))],
        };
        assert_eq!(store.save(&save).await.expect("save"), 1);
        let loaded = store.load().await.expect("load");
        assert_eq!(loaded.generation, 1);
        assert_eq!(loaded.tick, 1234);
        let mut expected = records;
        expected.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(loaded.entities, expected);
        assert_eq!(
            loaded.mod_storage,
            vec![
                ("empty".to_string(), serde_json::json!(null)),
                ("football".to_string(), serde_json::json!({ "score": [1, 2], "half": 2.5 })),
            ]
        );
        // The characters went to this world's characters.
        let accounts = AccountStore::new(test.db().clone(), "w");
        assert_eq!(
            accounts.load_character(AccountId(5)).await.expect("load"),
            Some(character(1.0, Some("pitch")))
        );
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn generations_advance_by_one_per_save(test) {
        let store = WorldStore::new(test.db().clone(), "w");
        for i in 1..=5u64 {
            let generation = store.save(&upserts(i * 10, vec![entity("a", i as f32)])).await.expect("save");
            assert_eq!(generation, i);
        }
        // An empty save is a save too.
        assert_eq!(store.save(&WorldSave { tick: 99, ..Default::default() }).await.expect("save"), 6);
        let loaded = store.load().await.expect("load");
        assert_eq!((loaded.generation, loaded.tick), (6, 99));
        assert_eq!(loaded.entities, vec![entity("a", 5.0)]);
        // A restarted process sees the same.
        let reopened = WorldStore::new(test.reopen().await, "w");
        assert_eq!(reopened.load().await.expect("load"), loaded);
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn removals_apply_before_upserts(test) {
        let store = WorldStore::new(test.db().clone(), "w");
        store.save(&upserts(1, vec![entity("a", 1.0), entity("b", 1.0)])).await.expect("save");
        store
            .save(&WorldSave {
                tick: 2,
                upserts: vec![entity("a", 2.0)],
                removals: vec!["a".into(), "b".into(), "never-saved".into()],
                ..Default::default()
            })
            .await
            .expect("save");
        // "a" was removed and spawned again; "b" is gone.
        assert_eq!(store.load().await.expect("load").entities, vec![entity("a", 2.0)]);
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn large_saves_cross_statement_chunks(test) {
        let store = WorldStore::new(test.db().clone(), "w");
        let records: Vec<EntityRecord> = (0..2_500).map(|i| entity(&format!("e{i:05}"), i as f32)).collect();
        store.save(&upserts(1, records.clone())).await.expect("save");
        // Change every third, remove every seventh, a key listed twice.
        let changed: Vec<EntityRecord> = (0..2_500).step_by(3).map(|i| entity(&format!("e{i:05}"), -(i as f32))).collect();
        let removed: Vec<Arc<str>> = (0..2_500).step_by(7).map(|i| Arc::from(format!("e{i:05}"))).collect();
        let mut dup = changed.clone();
        dup.insert(0, entity("e00003", 1234.0));
        store
            .save(&WorldSave { tick: 2, upserts: dup, removals: removed, ..Default::default() })
            .await
            .expect("save");
        let mut model: BTreeMap<String, EntityRecord> = records.into_iter().map(|r| (r.key.to_string(), r)).collect();
        for i in (0..2_500).step_by(7) {
            model.remove(&format!("e{i:05}"));
        }
        for r in changed {
            model.insert(r.key.to_string(), r);
        }
        let loaded = store.load().await.expect("load");
        assert_eq!(loaded.entities.len(), model.len());
        assert_eq!(loaded.entities, model.into_values().collect::<Vec<_>>());
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn worlds_in_one_database_are_separate(test) {
        let a = WorldStore::new(test.db().clone(), "a");
        let b = WorldStore::new(test.db().clone(), "b");
        a.save(&WorldSave {
            tick: 1,
            upserts: vec![entity("shared-key", 1.0), entity("only-a", 1.0)],
            mod_storage: vec![("m".into(), serde_json::json!("a's"))],
            ..Default::default()
        })
        .await
        .expect("save");
        b.save(&WorldSave {
            tick: 7,
            upserts: vec![entity("shared-key", 2.0)],
            mod_storage: vec![("m".into(), serde_json::json!("b's"))],
            ..Default::default()
        })
        .await
        .expect("save");
        // Removing in a leaves b alone.
        a.save(&WorldSave { tick: 2, removals: vec!["shared-key".into()], ..Default::default() })
            .await
            .expect("save");
        let la = a.load().await.expect("load");
        let lb = b.load().await.expect("load");
        assert_eq!((la.generation, la.tick), (2, 2));
        assert_eq!((lb.generation, lb.tick), (1, 7));
        assert_eq!(la.entities, vec![entity("only-a", 1.0)]);
        assert_eq!(lb.entities, vec![entity("shared-key", 2.0)]);
        assert_eq!(la.mod_storage, vec![("m".to_string(), serde_json::json!("a's"))]);
        assert_eq!(lb.mod_storage, vec![("m".to_string(), serde_json::json!("b's"))]);
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn a_failed_save_leaves_the_last_generation_whole(test) {
        let store = WorldStore::new(test.db().clone(), "w");
        store.save(&upserts(1, vec![entity("a", 1.0)])).await.expect("save");
        // Break the last table a save writes, so that it fails after the
        // generation, the removals and the entities were written.
        sqlx::query("ALTER TABLE world_mod_storage RENAME TO world_mod_storage_away")
            .execute(test.db().pool())
            .await
            .expect("rename");
        let result = store
            .save(&WorldSave {
                tick: 2,
                upserts: vec![entity("a", 2.0), entity("b", 2.0)],
                removals: vec!["a".into()],
                mod_storage: vec![("m".into(), serde_json::json!(1))],
                ..Default::default()
            })
            .await;
        assert!(matches!(result, Err(StoreError::Query { .. })), "{result:?}");
        sqlx::query("ALTER TABLE world_mod_storage_away RENAME TO world_mod_storage")
            .execute(test.db().pool())
            .await
            .expect("rename back");
        let loaded = store.load().await.expect("load");
        assert_eq!((loaded.generation, loaded.tick), (1, 1));
        assert_eq!(loaded.entities, vec![entity("a", 1.0)]);
        assert!(loaded.mod_storage.is_empty());
        // And the next save is generation 2.
        assert_eq!(store.save(&upserts(3, vec![])).await.expect("save"), 2);
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn unstorable_names_are_refused_before_writing(test) {
        let store = WorldStore::new(test.db().clone(), "w");
        let bad = store.save(&upserts(1, vec![entity("a", 1.0), entity("nul\0key", 1.0)])).await;
        assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
        let bad = store
            .save(&WorldSave { mod_storage: vec![("m\0".into(), serde_json::json!(1))], ..Default::default() })
            .await;
        assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
        assert_eq!(store.load().await.expect("load"), SavedWorld::default());
    }
}

// The property test: random sequences of incremental saves, applied to the
// store, load back as the model says.

#[derive(Debug, Clone)]
enum Op {
    Upsert(u8, i16),
    Remove(u8),
    Storage(u8, i16),
}

fn arb_save() -> impl Strategy<Value = (u64, Vec<Op>)> {
    let op = prop_oneof![
        3 => (0u8..12, any::<i16>()).prop_map(|(k, x)| Op::Upsert(k, x)),
        2 => (0u8..12).prop_map(Op::Remove),
        1 => (0u8..3, any::<i16>()).prop_map(|(m, v)| Op::Storage(m, v)),
    ];
    (0u64..1_000_000, prop::collection::vec(op, 0..10))
}

fn to_save(tick: u64, ops: &[Op]) -> WorldSave {
    let mut save = WorldSave {
        tick,
        ..Default::default()
    };
    for op in ops {
        match *op {
            Op::Upsert(k, x) => save
                .upserts
                .push(entity(&format!("k{k}"), f32::from(x) / 8.0)),
            Op::Remove(k) => save.removals.push(Arc::from(format!("k{k}"))),
            Op::Storage(m, v) => save
                .mod_storage
                .push((format!("mod{m}"), serde_json::json!({ "v": v }))),
        }
    }
    save
}

fn check_model(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let Some(test) = rt.block_on(TestDb::new_with(backend, &gsp_persistence::db::MIGRATOR)) else {
        return;
    };
    let worlds = AtomicU64::new(0);
    let config = ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    };
    proptest!(config, |(saves in prop::collection::vec(arb_save(), 1..8))| {
        // A new world per case: same database, nothing shared.
        let name = format!("world{}", worlds.fetch_add(1, Ordering::Relaxed));
        let store = WorldStore::new(test.db().clone(), &name);
        let mut entities: BTreeMap<String, EntityRecord> = BTreeMap::new();
        let mut storage: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for (i, (tick, ops)) in saves.iter().enumerate() {
            let save = to_save(*tick, ops);
            let generation = rt.block_on(store.save(&save)).expect("save");
            prop_assert_eq!(generation, i as u64 + 1);
            for key in &save.removals {
                entities.remove(&**key);
            }
            for r in &save.upserts {
                entities.insert(r.key.to_string(), r.clone());
            }
            for (m, v) in &save.mod_storage {
                storage.insert(m.clone(), v.clone());
            }
            let loaded = rt.block_on(store.load()).expect("load");
            prop_assert_eq!(loaded.generation, i as u64 + 1);
            prop_assert_eq!(loaded.tick, *tick);
            prop_assert_eq!(&loaded.entities, &entities.values().cloned().collect::<Vec<_>>());
            prop_assert_eq!(&loaded.mod_storage, &storage.clone().into_iter().collect::<Vec<_>>());
        }
    });
    drop(test);
}

#[test]
fn incremental_saves_match_the_model_sqlite() {
    check_model(Backend::Sqlite);
}

#[test]
fn incremental_saves_match_the_model_postgres() {
    check_model(Backend::Postgres);
}
