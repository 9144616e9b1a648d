//! Measures replication and prints one report: bandwidth per entity, send
//! CPU per entity·client, and allocations per tick.
//!
//! ```text
//! cargo run --release -p gsp-benches --bin replication-report -- --json
//! ```
//!
//! Every figure is measured when it runs. `--quick` runs fewer ticks (for
//! tests of the report itself; its timings are noisier).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gsp_benches::replication::{measure_bandwidth, scene_config, AckModel, BodyScene};

/// The system allocator, counting allocations.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BODIES: usize = 1000;

/// Nanoseconds of replication per entity·client, `clients` observers each
/// seeing all bodies, every body changed every tick.
fn send_ns(clients: usize, ticks: usize) -> f64 {
    let mut scene = BodyScene::new(BODIES, clients, scene_config(BODIES), AckModel::LOOPBACK);
    for _ in 0..60 {
        scene.advance();
        scene.replicate();
    }
    let mut spent = Duration::ZERO;
    for _ in 0..ticks {
        scene.advance();
        let start = Instant::now();
        std::hint::black_box(scene.replicate());
        spent += start.elapsed();
    }
    spent.as_nanos() as f64 / (ticks * BODIES * clients) as f64
}

/// Allocations per tick of replication in steady state (1,000 bodies, 20 clients).
fn allocs_per_tick(ticks: usize) -> f64 {
    let mut scene = BodyScene::new(BODIES, 20, scene_config(BODIES), AckModel::LOOPBACK);
    for _ in 0..200 {
        scene.advance();
        scene.replicate();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..ticks {
        scene.advance();
        std::hint::black_box(scene.replicate());
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / ticks as f64
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(other) = args.iter().find(|a| *a != "--json" && *a != "--quick") {
        eprintln!("replication-report: unknown argument {other}\nusage: replication-report [--json] [--quick]");
        std::process::exit(2);
    }
    let ticks = if quick { 30 } else { 300 };
    let loopback = measure_bandwidth(BODIES, AckModel::LOOPBACK, ticks);
    let wan = measure_bandwidth(
        BODIES,
        AckModel {
            delay_ticks: 3,
            loss: 0.05,
        },
        ticks,
    );
    let send_1 = send_ns(1, if quick { 20 } else { 400 });
    let send_20 = send_ns(20, if quick { 5 } else { 60 });
    let allocs = allocs_per_tick(if quick { 10 } else { 100 });
    let report = serde_json::json!({
        "bits_per_changed_entity": round(loopback.bits_per_changed_entity, 2),
        "bits_per_unchanged_entity": round(loopback.bits_per_unchanged_entity, 4),
        "send_ns_per_entity_client_1": round(send_1, 2),
        "send_ns_per_entity_client_20": round(send_20, 2),
        "allocs_per_tick": round(allocs, 2),
        "changed_entities_per_snapshot": round(loopback.changed_per_snapshot, 1),
        "snapshot_kbit_per_second": round(loopback.bytes_per_second * 8.0 / 1000.0, 1),
        "bits_per_changed_entity_rtt100ms_loss5": round(wan.bits_per_changed_entity, 2),
        "bodies": BODIES,
    });
    if json {
        println!("{report}");
        return;
    }
    println!("replication report ({BODIES} bodies, all moving; one observer sees all)");
    for (k, v) in report.as_object().expect("an object") {
        println!("  {k:<40} {v}");
    }
}
