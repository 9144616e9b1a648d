//! The save writer on both backends: coalescing, flushing, characters,
//! retrying through a failure.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{character, entity};
use gsp_engine::{AccountId, Persist, WorldSave};
use gsp_persistence::{AccountStore, FlushError, WorldStore, Writer};
use gsp_store::both_backends;

const FLUSH: Duration = Duration::from_secs(30);

/// Flushes from async code, as the binary would.
async fn flush(
    handle: &gsp_persistence::WriterHandle,
    timeout: Duration,
) -> Result<(), FlushError> {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || handle.flush(timeout))
        .await
        .expect("flush thread")
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn queued_saves_are_coalesced_into_one(test) {
        let world = WorldStore::new(test.db().clone(), "w");
        let accounts = AccountStore::new(test.db().clone(), "w");
        let (tx, rx) = crossbeam_channel::bounded(64);
        // Queued before the writer runs: it finds them all at once.
        for tick in 1..=10u64 {
            let save = WorldSave {
                tick,
                upserts: vec![entity(&format!("e{tick}"), tick as f32), entity("moving", tick as f32)],
                removals: if tick == 6 { vec![Arc::from("e2")] } else { vec![] },
                mod_storage: vec![("m".into(), serde_json::json!(tick))],
                characters: vec![(AccountId(1), character(tick as f32, None))],
            };
            tx.try_send(Persist::World(save)).expect("room in the channel");
        }
        tx.try_send(Persist::Character(AccountId(2), character(42.0, Some("inn")))).expect("room");
        let handle = Writer::spawn(world.clone(), accounts.clone(), rx);
        flush(&handle, FLUSH).await.expect("flush");

        let stats = handle.stats();
        assert_eq!(stats.saves_written, 1, "{stats:?}");
        assert_eq!(stats.last_generation, 1);
        assert!(stats.last_save_duration.is_some());
        assert_eq!(stats.failures, 0);
        let loaded = world.load().await.expect("load");
        assert_eq!((loaded.generation, loaded.tick), (1, 10));
        let mut keys: Vec<String> = loaded.entities.iter().map(|e| e.key.to_string()).collect();
        keys.sort();
        let mut expected: Vec<String> = (1..=10).filter(|&i| i != 2).map(|i| format!("e{i}")).collect();
        expected.push("moving".into());
        expected.sort();
        assert_eq!(keys, expected);
        let moving = loaded.entities.iter().find(|e| &*e.key == "moving").expect("moving");
        assert_eq!(moving, &entity("moving", 10.0));
        assert_eq!(loaded.mod_storage, vec![("m".to_string(), serde_json::json!(10))]);
        assert_eq!(accounts.load_character(AccountId(1)).await.expect("load"), Some(character(10.0, None)));
        assert_eq!(accounts.load_character(AccountId(2)).await.expect("load"), Some(character(42.0, Some("inn"))));
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn flush_covers_everything_sent_before_it(test) {
        let world = WorldStore::new(test.db().clone(), "w");
        let accounts = AccountStore::new(test.db().clone(), "w");
        let (tx, rx) = crossbeam_channel::bounded(8);
        let handle = Writer::spawn(world.clone(), accounts.clone(), rx);
        for round in 1..=3u64 {
            for i in 0..5u64 {
                let save = WorldSave {
                    tick: round * 100 + i,
                    upserts: vec![entity("e", (round * 100 + i) as f32)],
                    ..Default::default()
                };
                // Blocking send: the test may outpace the writer.
                tx.send(Persist::World(save)).expect("writer alive");
            }
            flush(&handle, FLUSH).await.expect("flush");
            let loaded = world.load().await.expect("load");
            assert_eq!(loaded.tick, round * 100 + 4);
            assert_eq!(loaded.entities, vec![entity("e", (round * 100 + 4) as f32)]);
            let stats = handle.stats();
            assert_eq!(stats.last_generation, loaded.generation);
            assert_eq!(stats.saves_written, loaded.generation, "every save so far was a world save");
        }
        // Characters alone are written without a world generation.
        let generation = world.generation().await.expect("generation");
        tx.send(Persist::Character(AccountId(9), character(3.0, None))).expect("send");
        flush(&handle, FLUSH).await.expect("flush");
        assert_eq!(world.generation().await.expect("generation"), generation);
        assert_eq!(accounts.load_character(AccountId(9)).await.expect("load"), Some(character(3.0, None)));
        // Nothing to write: flush returns at once.
        flush(&handle, Duration::from_secs(5)).await.expect("empty flush");
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn failed_writes_are_retried_without_losing_anything(test) {
        let world = WorldStore::new(test.db().clone(), "w");
        let accounts = AccountStore::new(test.db().clone(), "w");
        let (tx, rx) = crossbeam_channel::bounded(8);
        let handle = Writer::spawn(world.clone(), accounts, rx);
        tx.send(Persist::World(WorldSave { tick: 1, upserts: vec![entity("a", 1.0)], ..Default::default() }))
            .expect("send");
        flush(&handle, FLUSH).await.expect("flush");

        // The database starts failing every save.
        sqlx::query("ALTER TABLE world_meta RENAME TO world_meta_away")
            .execute(test.db().pool())
            .await
            .expect("rename");
        tx.send(Persist::World(WorldSave { tick: 2, upserts: vec![entity("b", 2.0)], ..Default::default() }))
            .expect("send");
        assert_eq!(
            flush(&handle, Duration::from_millis(700)).await,
            Err(FlushError::Timeout(Duration::from_millis(700)))
        );
        let stats = handle.stats();
        assert!(stats.failures >= 1, "{stats:?}");
        assert!(stats.last_error.is_some());
        // More saves arrive while it is down.
        tx.send(Persist::World(WorldSave { tick: 3, removals: vec!["a".into()], upserts: vec![entity("c", 3.0)], ..Default::default() }))
            .expect("send");

        // The database recovers; the writer catches up on its own.
        sqlx::query("ALTER TABLE world_meta_away RENAME TO world_meta")
            .execute(test.db().pool())
            .await
            .expect("rename back");
        flush(&handle, FLUSH).await.expect("flush after recovery");
        let loaded = world.load().await.expect("load");
        assert_eq!(loaded.tick, 3);
        assert_eq!(loaded.entities, vec![entity("b", 2.0), entity("c", 3.0)]);
        // One generation for the first save, one for the retried batch.
        assert_eq!(loaded.generation, 2);
        assert_eq!(handle.stats().last_generation, 2);
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn unstorable_names_are_dropped_alone(test) {
        let world = WorldStore::new(test.db().clone(), "w");
        let accounts = AccountStore::new(test.db().clone(), "w");
        let (tx, rx) = crossbeam_channel::bounded(8);
        let handle = Writer::spawn(world.clone(), accounts, rx);
        tx.send(Persist::World(WorldSave {
            tick: 1,
            upserts: vec![entity("good", 1.0), entity("bad\0", 1.0)],
            ..Default::default()
        }))
        .expect("send");
        flush(&handle, FLUSH).await.expect("flush");
        assert_eq!(world.load().await.expect("load").entities, vec![entity("good", 1.0)]);
        assert_eq!(handle.stats().dropped, 1);
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn the_writer_starts_from_the_stored_generation(test) {
        let world = WorldStore::new(test.db().clone(), "w");
        for tick in 1..=3 {
            world.save(&WorldSave { tick, ..Default::default() }).await.expect("save");
        }
        let accounts = AccountStore::new(test.db().clone(), "w");
        let (tx, rx) = crossbeam_channel::bounded(8);
        let handle = Writer::spawn(world.clone(), accounts, rx);
        tx.send(Persist::World(WorldSave { tick: 4, ..Default::default() })).expect("send");
        flush(&handle, FLUSH).await.expect("flush");
        assert_eq!(handle.stats().last_generation, 4);
        drop(tx);
        // The world closing its channel does not stop flushes from working.
        flush(&handle, Duration::from_secs(5)).await.expect("flush");
    }
}
