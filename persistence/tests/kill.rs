//! A process killed in the middle of saving leaves the last committed
//! generation complete: the test re-runs this test binary as a child that
//! saves generation after generation, kills it (SIGKILL) at a random moment,
//! and checks that what loads is exactly one whole generation.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use gsp_engine::WorldSave;
use gsp_persistence::WorldStore;
use gsp_store::both_backends;

const ENTITIES: usize = 2_000;
const CHILD_ENV: &str = "GSP_KILL_TEST_URL";

/// Every entity of the save of `tick` carries that tick.
fn save_of(tick: u64) -> WorldSave {
    WorldSave {
        tick,
        upserts: (0..ENTITIES)
            .map(|i| {
                let mut e = common::entity(&format!("e{i:05}"), tick as f32);
                e.attributes.insert("tick".into(), serde_json::json!(tick));
                e
            })
            .collect(),
        ..Default::default()
    }
}

/// The child: saves forever until killed. Ignored in normal runs; the
/// parent runs it with `--ignored --exact`.
#[test]
#[ignore = "run as a child process by kill_mid_save"]
fn child_saves_until_killed() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let db = gsp_persistence::db::connect(&url).await.expect("connect");
        let store = WorldStore::new(db, "w");
        let mut tick = store.load().await.expect("load").tick;
        loop {
            tick += 1;
            store.save(&save_of(tick)).await.expect("save");
        }
    });
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn kill_mid_save(test) {
        let store = WorldStore::new(test.db().clone(), "w");
        let exe = std::env::current_exe().expect("test binary");
        let mut generations_seen = Vec::new();
        for round in 0..3u64 {
            let before = store.generation().await.expect("generation");
            let mut child = Command::new(&exe)
                .args(["--ignored", "--exact", "child_saves_until_killed", "--nocapture"])
                .env(CHILD_ENV, test.url())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn the child");
            // Let it commit a few generations, then kill it at a random moment.
            let mut waited = 0;
            while store.generation().await.expect("generation") < before + 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                waited += 1;
                assert!(waited < 1_500, "the child saves nothing");
            }
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..200) + round * 37)).await;
            child.kill().expect("kill");
            let status = child.wait().expect("wait");
            assert!(!status.success(), "killed, not finished");

            let loaded = store.load().await.expect("load");
            assert!(loaded.generation >= before + 2);
            assert_eq!(loaded.entities.len(), ENTITIES, "a whole generation");
            for e in &loaded.entities {
                assert_eq!(
                    e.attributes.get("tick"),
                    Some(&serde_json::json!(loaded.tick)),
                    "entity {} is from another save than the generation's", e.key
                );
            }
            generations_seen.push(loaded.generation);
        }
        // Each child continued from the last committed state.
        assert!(generations_seen.windows(2).all(|w| w[0] < w[1]), "{generations_seen:?}");
    }
}
