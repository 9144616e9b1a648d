//! The store side of world saves, on SQLite (a file in a temporary directory
//! on this disk) and PostgreSQL (when reachable at the test URL, see
//! `gsp_persistence::testing`):
//!
//! - one save of 10,000 new persistent entities;
//! - a save with 1,000 of them changed (median of several);
//! - loading the 10,000 back (what a world does at start);
//! - commits per second for small saves (1 entity each, one after another);
//! - and, for comparison, this disk's raw fsync rate (write + fdatasync of
//!   4 KiB in a loop, on a file next to the SQLite database).
//!
//! ```text
//! cargo run --release -p gsp-benches --bin save-report [-- ENTITIES CHANGED SMALL_SAVES]
//! ```

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gsp_engine::persist::{AttributeMap, SavedBody};
use gsp_engine::{EntityRecord, Vec3, WorldSave};
use gsp_persistence::testing::TestDb;
use gsp_persistence::{Backend, WorldStore};

struct Figures {
    backend: Backend,
    full: Duration,
    changed: Duration,
    load: Duration,
    commits_per_sec: f64,
}

fn record(i: usize, generation: u32) -> EntityRecord {
    let x = i as f32 * 0.37 + generation as f32;
    let mut attributes = AttributeMap::new();
    attributes.insert("hp".into(), serde_json::json!(100 - (i % 100)));
    attributes.insert(
        "owner".into(),
        serde_json::json!(format!("player{}", i % 50)),
    );
    EntityRecord {
        key: Arc::from(format!("bench:prop:{i:06}")),
        kind: 2,
        position: Vec3::new(x, 1.25, -x),
        rotation: [0.0, 0.38268343, 0.0, 0.9238795],
        velocity: Vec3::new(0.5, 0.0, -0.25),
        body: Some(SavedBody {
            kind: 0,
            shape: [1.0, 0.5, 0.5, 0.5],
            density: 500.0,
            friction: 0.6,
            restitution: 0.2,
        }),
        attributes,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn measure(test: &TestDb, entities: usize, changed: usize) -> Figures {
    let store = WorldStore::new(test.db().clone(), "bench");
    let all: Vec<EntityRecord> = (0..entities).map(|i| record(i, 0)).collect();
    let save = WorldSave {
        tick: 1,
        upserts: all,
        ..Default::default()
    };
    let t = Instant::now();
    store.save(&save).await.expect("full save");
    let full = t.elapsed();

    let mut changed_times = Vec::new();
    for round in 1..=7u32 {
        let start = (round as usize * 997) % entities.max(1);
        let upserts = (0..changed)
            .map(|j| record((start + j * 7) % entities.max(1), round))
            .collect();
        let save = WorldSave {
            tick: u64::from(round) + 1,
            upserts,
            ..Default::default()
        };
        let t = Instant::now();
        store.save(&save).await.expect("changed save");
        changed_times.push(t.elapsed());
    }

    let t = Instant::now();
    let loaded = store.load().await.expect("load");
    let load = t.elapsed();
    assert_eq!(loaded.entities.len(), entities);

    Figures {
        backend: test.backend(),
        full,
        changed: median(changed_times),
        load,
        commits_per_sec: 0.0,
    }
}

/// Saves of 1 entity each, one after another: commits per second.
async fn small_saves(test: &TestDb, small: usize) -> f64 {
    let store = WorldStore::new(test.db().clone(), "bench-small");
    let t = Instant::now();
    for i in 0..small {
        let save = WorldSave {
            tick: i as u64,
            upserts: vec![record(i % 100, i as u32)],
            ..Default::default()
        };
        store.save(&save).await.expect("small save");
    }
    small as f64 / t.elapsed().as_secs_f64()
}

/// write + fdatasync of 4 KiB at a time, for about `budget`: appending to
/// a new file (each sync also commits the file's new size), or overwriting
/// blocks of a file already written and synced (as SQLite does once its WAL
/// has wrapped around).
fn fsync_rate(dir: &Path, budget: Duration, append: bool) -> std::io::Result<f64> {
    use std::io::{Seek, SeekFrom};
    const REGION: u64 = 4 << 20;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let block = [0x5au8; 4096];
    if !append {
        file.write_all(&vec![0u8; REGION as usize])?;
        file.sync_all()?;
    }
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < budget || n < 10 {
        if !append {
            file.seek(SeekFrom::Start((n * 4096) % REGION))?;
        }
        file.write_all(&block)?;
        file.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok(rate)
}

/// How long each fsync probe runs.
const PROBE: Duration = Duration::from_secs(1);

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let entities = args.first().copied().unwrap_or(10_000);
    let changed = args.get(1).copied().unwrap_or(1_000).min(entities);
    let small = args.get(2).copied().unwrap_or(300);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sqlite = TestDb::sqlite().await;
        let dir = sqlite
            .dir()
            .expect("a SQLite test database has a directory")
            .to_path_buf();
        let pg = TestDb::postgres().await;
        let mut figures = vec![measure(&sqlite, entities, changed).await];
        if let Some(pg) = &pg {
            figures.push(measure(pg, entities, changed).await);
        }
        // This disk's fsync rate moves a lot with the machine's other work:
        // probe it right before and after each run of small saves.
        let probe = |dir: &Path| {
            let appending = fsync_rate(dir, PROBE, true).expect("fsync probe");
            let overwriting = fsync_rate(dir, PROBE, false).expect("fsync probe");
            (appending, overwriting)
        };
        let mut probes = vec![probe(&dir)];
        figures[0].commits_per_sec = small_saves(&sqlite, small).await;
        probes.push(probe(&dir));
        if let Some(pg) = &pg {
            figures[1].commits_per_sec = small_saves(pg, small).await;
            probes.push(probe(&dir));
        }
        drop(sqlite);

        println!("save-report: {entities} entities, {changed} changed, {small} small saves");
        println!("temporary directory on this disk: {}", dir.display());
        println!();
        println!(
            "| backend | save {entities} new | save {changed} changed (median of 7) | load {entities} | small saves (1 entity) |"
        );
        println!("| --- | --- | --- | --- | --- |");
        for f in &figures {
            println!(
                "| {} | {} | {} | {} | {:.0} commits/s |",
                f.backend,
                ms(f.full),
                ms(f.changed),
                ms(f.load),
                f.commits_per_sec
            );
        }
        println!();
        let shown: Vec<String> = probes
            .iter()
            .map(|(a, o)| format!("{a:.0}/{o:.0}"))
            .collect();
        println!(
            "raw fsync rate (write 4 KiB + fdatasync, same directory; appending/overwriting, per second), \
             before and after each run of small saves: {}",
            shown.join(", ")
        );
    });
}
