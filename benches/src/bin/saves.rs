//! The store side of world saves, on SQLite (a file in a temporary directory
//! on this disk) and PostgreSQL (when reachable at the test URL, see
//! `gsp_persistence::testing`):
//!
//! - one save of 10,000 new persistent entities;
//! - a save with 1,000 of them changed (median of several);
//! - loading the 10,000 back (what a world does at start);
//! - commits per second for small saves (1 entity each, one after another),
//!   with a write + fdatasync of 4 KiB on a file next to the SQLite database
//!   between two saves, so that commit and raw sync latencies are compared
//!   under the same conditions;
//! - and this disk's raw fsync rate (write + fdatasync of 4 KiB in a loop,
//!   appending and overwriting, in the same directory).
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
use gsp_persistence::{Backend, WorldStore};
use gsp_store::testing::TestDb;

struct Figures {
    backend: Backend,
    full: Duration,
    changed: Duration,
    load: Duration,
    small: Small,
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
        small: Small::default(),
    }
}

/// What the small saves measured.
#[derive(Default)]
struct Small {
    commits_per_sec: f64,
    median_commit: Duration,
    median_fsync: Duration,
}

/// Saves of 1 entity each, one after another; between two saves, one
/// write + fdatasync of 4 KiB on `probe`, so that commits and raw syncs are
/// timed under the same conditions (this disk's sync latency drifts a lot).
async fn small_saves(test: &TestDb, small: usize, probe: &mut Probe) -> Small {
    let store = WorldStore::new(test.db().clone(), "bench-small");
    let mut commits = Vec::with_capacity(small);
    let mut syncs = Vec::with_capacity(small);
    for i in 0..small {
        let save = WorldSave {
            tick: i as u64,
            upserts: vec![record(i % 100, i as u32)],
            ..Default::default()
        };
        let t = Instant::now();
        store.save(&save).await.expect("small save");
        commits.push(t.elapsed());
        syncs.push(probe.sync_once().expect("fsync probe"));
    }
    let total: Duration = commits.iter().sum();
    Small {
        commits_per_sec: small as f64 / total.as_secs_f64(),
        median_commit: median(commits),
        median_fsync: median(syncs),
    }
}

/// A file next to the database for write + fdatasync probes, overwriting
/// 4 KiB blocks of a region written and synced beforehand (as SQLite does
/// once its WAL has wrapped around).
struct Probe {
    file: std::fs::File,
    path: std::path::PathBuf,
    n: u64,
}

const PROBE_REGION: u64 = 4 << 20;

impl Probe {
    fn new(dir: &Path) -> std::io::Result<Probe> {
        let path = dir.join("fsync-probe-paired");
        let mut file = std::fs::File::create(&path)?;
        file.write_all(&vec![0u8; PROBE_REGION as usize])?;
        file.sync_all()?;
        Ok(Probe { file, path, n: 0 })
    }

    fn sync_once(&mut self) -> std::io::Result<Duration> {
        use std::io::{Seek, SeekFrom};
        let t = Instant::now();
        self.file
            .seek(SeekFrom::Start((self.n * 4096) % PROBE_REGION))?;
        self.file.write_all(&[0xa5u8; 4096])?;
        self.file.sync_data()?;
        self.n += 1;
        Ok(t.elapsed())
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
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

fn ms2(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
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
    // The tick thread's share first, on an idle machine: gathering the
    // WorldSave of `entities` persistent props and handing it over.
    let (mut world, rx) = gsp_benches::save_gather::world_with_props(entities);
    let gather: Vec<(usize, Duration, Duration)> = [entities, changed, 0]
        .into_iter()
        .map(|n| {
            let (mean, worst) = gsp_benches::save_gather::gather_cost(&mut world, &rx, n, 50);
            (n, mean, worst)
        })
        .collect();
    drop(world);
    rt.block_on(async {
        let sqlite = TestDb::sqlite_with(&gsp_persistence::db::MIGRATOR).await;
        let dir = sqlite
            .dir()
            .expect("a SQLite test database has a directory")
            .to_path_buf();
        // The raw loop first, while nothing else of ours touches the disk.
        let appending = fsync_rate(&dir, PROBE, true).expect("fsync probe");
        let overwriting = fsync_rate(&dir, PROBE, false).expect("fsync probe");
        let pg = TestDb::postgres_with(&gsp_persistence::db::MIGRATOR).await;
        let mut figures = vec![measure(&sqlite, entities, changed).await];
        if let Some(pg) = &pg {
            figures.push(measure(pg, entities, changed).await);
        }
        let mut probe = Probe::new(&dir).expect("fsync probe");
        figures[0].small = small_saves(&sqlite, small, &mut probe).await;
        if let Some(pg) = &pg {
            figures[1].small = small_saves(pg, small, &mut probe).await;
        }
        drop(probe);
        drop(sqlite);

        println!("save-report: {entities} entities, {changed} changed, {small} small saves");
        println!("temporary directory on this disk: {}", dir.display());
        println!();
        println!("tick thread: gather a save of {entities} persistent entities (target < 1 ms), 50 saves each");
        println!("| changed since the last save | mean | worst |");
        println!("| --- | --- | --- |");
        for (n, mean, worst) in &gather {
            println!("| {n} | {} | {} |", ms2(*mean), ms2(*worst));
        }
        println!();
        println!(
            "| backend | save {entities} new | save {changed} changed (median of 7) | load {entities} \
             | small saves (1 entity) | median small commit | median fdatasync between them |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        for f in &figures {
            println!(
                "| {} | {} | {} | {} | {:.0} commits/s | {} | {} |",
                f.backend,
                ms(f.full),
                ms(f.changed),
                ms(f.load),
                f.small.commits_per_sec,
                ms2(f.small.median_commit),
                ms2(f.small.median_fsync),
            );
        }
        println!();
        println!(
            "raw fsync loop (write 4 KiB + fdatasync, same directory, {PROBE:?} each): \
             {appending:.0}/s appending, {overwriting:.0}/s overwriting"
        );
    });
}
