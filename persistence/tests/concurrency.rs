//! Many writers at once: no "database is locked", no lost writes. Run on
//! both backends; the SQLite case is the one that matters (a transaction
//! that reads and then writes fails at once when another connection wrote
//! in between, unless writes start with `BEGIN IMMEDIATE`).

mod common;

use std::collections::BTreeSet;

use common::{character, entity, peer};
use gsp_engine::{AccountId, AccountService, WorldSave};
use gsp_persistence::{AccountStore, WorldStore};
use gsp_store::both_backends;

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn concurrent_creations_and_saves_all_succeed(test) {
        let db = test.db().clone();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..24 {
            let store = AccountStore::new(db.clone(), "w");
            tasks.spawn(async move {
                store
                    .create(&format!("Player{i}"), "a fine password", peer(i as u8))
                    .await
                    .map(|login| login.account)
                    .map_err(|e| e.to_string())
            });
        }
        let mut saves = tokio::task::JoinSet::new();
        for w in 0..3 {
            for i in 0..15u64 {
                let store = WorldStore::new(db.clone(), &format!("world{w}"));
                let accounts = AccountStore::new(db.clone(), &format!("world{w}"));
                saves.spawn(async move {
                    let save = WorldSave {
                        tick: i,
                        upserts: (0..50).map(|k| entity(&format!("e{k}"), i as f32)).collect(),
                        characters: vec![(AccountId(i as i64), character(i as f32, None))],
                        ..Default::default()
                    };
                    store.save(&save).await.map_err(|e| e.to_string())?;
                    accounts
                        .save_character(AccountId(100 + i as i64), &character(1.0, None))
                        .await
                        .map_err(|e| e.to_string())?;
                    // Read then write in the same breath.
                    store.load().await.map_err(|e| e.to_string())?;
                    Ok::<(), String>(())
                });
            }
        }
        let mut ids = BTreeSet::new();
        while let Some(result) = tasks.join_next().await {
            let id = result.expect("task").expect("account creation");
            ids.insert(id.0);
        }
        assert_eq!(ids, (1..=24).collect::<BTreeSet<i64>>(), "ids are unique and dense");
        while let Some(result) = saves.join_next().await {
            result.expect("task").expect("save");
        }
        for w in 0..3 {
            let store = WorldStore::new(db.clone(), &format!("world{w}"));
            let loaded = store.load().await.expect("load");
            assert_eq!(loaded.generation, 15, "world{w}");
            assert_eq!(loaded.entities.len(), 50);
        }
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn two_processes_writing_one_database(test) {
        // Two Database handles with their own pools and write locks, as two
        // processes would have: only the database serialises them.
        let first = test.db().clone();
        let second = test.reopen().await;
        let mut tasks = tokio::task::JoinSet::new();
        for (n, db) in [first.clone(), second].into_iter().enumerate() {
            for i in 0..20u64 {
                let store = WorldStore::new(db.clone(), "shared");
                let accounts = AccountStore::new(db.clone(), "shared");
                tasks.spawn(async move {
                    store
                        .save(&WorldSave { tick: i, upserts: vec![entity(&format!("p{n}-{i}"), 1.0)], ..Default::default() })
                        .await
                        .map_err(|e| e.to_string())?;
                    accounts
                        .save_character(AccountId((n * 100) as i64 + i as i64), &character(2.0, None))
                        .await
                        .map_err(|e| e.to_string())
                });
            }
        }
        while let Some(result) = tasks.join_next().await {
            result.expect("task").expect("no 'database is locked'");
        }
        let loaded = WorldStore::new(first, "shared").load().await.expect("load");
        assert_eq!(loaded.generation, 40);
        assert_eq!(loaded.entities.len(), 40);
    }
}
