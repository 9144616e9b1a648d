//! Time dilation in a running world: an artificially slow tick (a system
//! that sleeps) makes the world slow time, keep sending snapshots, tell its
//! players and show the factor, and the world recovers by itself when the
//! load goes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy_ecs::prelude::*;
use gsp_engine::runtime::{FULL_SPEED_NOTICE, HEAVY_LOAD_NOTICE};
use gsp_engine::{
    GameWorld, GatewayKind, Outbound, Session, TextEvent, TickStage, WorldConfig, WorldMap,
    WorldRuntime,
};

/// Milliseconds every tick sleeps.
#[derive(Resource, Clone)]
struct SlowTick(Arc<AtomicU64>);

fn slow_tick(slow: Res<SlowTick>) {
    let ms = slow.0.load(Ordering::Relaxed);
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// What `session` has been sent since the last call: (snapshots, info lines).
fn read(session: &mut Session) -> (usize, Vec<String>) {
    let (mut snapshots, mut info) = (0, Vec::new());
    while let Ok(m) = session.receiver.try_recv() {
        match m {
            Outbound::Snapshot(_) => snapshots += 1,
            Outbound::Text(TextEvent::Info(text)) => info.push(text),
            _ => {}
        }
    }
    (snapshots, info)
}

/// Polls `done` (reading `session` meanwhile) until it holds, for at most
/// `limit`; returns the snapshots and info lines read.
fn wait_for(
    session: &mut Session,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> (usize, Vec<String>) {
    let start = Instant::now();
    let (mut snapshots, mut info) = (0, Vec::new());
    while !done() {
        assert!(start.elapsed() < limit, "gave up after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
        let (s, i) = read(session);
        snapshots += s;
        info.extend(i);
    }
    let (s, i) = read(session);
    (snapshots + s, info.into_iter().chain(i).collect())
}

#[test]
fn a_slow_tick_dilates_time_tells_players_and_recovers() {
    let delay = Arc::new(AtomicU64::new(0));
    let mut world = GameWorld::new(WorldConfig::default(), WorldMap::default_world());
    world.world_mut().insert_resource(SlowTick(delay.clone()));
    world
        .schedule_mut()
        .add_systems(slow_tick.in_set(TickStage::Simulate));
    let runtime = WorldRuntime::start(world).expect("world thread");
    let handle = runtime.handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut ada = rt
        .block_on(handle.join("ada", GatewayKind::Quic))
        .expect("join");
    let stats = handle.stats().clone();
    wait_for(&mut ada, Duration::from_secs(20), || stats.ticks() > 30);
    assert_eq!(stats.snapshot().time_dilation, 1.0);

    // Ticks of 100 ms against a 33 ms period: time must slow to about a quarter.
    delay.store(100, Ordering::Relaxed);
    let (snapshots, info) = wait_for(&mut ada, Duration::from_secs(30), || stats.dilation() < 0.5);
    let dilated = stats.snapshot().time_dilation;
    assert!((0.1..0.5).contains(&dilated), "{dilated}");
    assert!(
        stats
            .prometheus_text()
            .contains("gsp_world_time_dilation 0."),
        "{}",
        stats.prometheus_text()
    );
    // Snapshots keep coming, at the slower rate.
    let ticks = stats.ticks();
    let (more, later) = wait_for(&mut ada, Duration::from_secs(30), || {
        stats.ticks() > ticks + 5
    });
    assert!(snapshots + more > 0, "no snapshots while dilated");
    assert!(
        info.iter().chain(&later).any(|t| t == HEAVY_LOAD_NOTICE),
        "players are told: {info:?} {later:?}"
    );

    // The load goes: the world is back at full speed by itself, and says so.
    delay.store(0, Ordering::Relaxed);
    let (_, info) = wait_for(&mut ada, Duration::from_secs(30), || {
        stats.dilation() == 1.0
    });
    let recovered = stats.ticks();
    let (_, after) = wait_for(&mut ada, Duration::from_secs(10), || {
        stats.ticks() > recovered + 3
    });
    assert!(
        info.iter().chain(&after).any(|t| t == FULL_SPEED_NOTICE),
        "{info:?} {after:?}"
    );
    assert_eq!(stats.snapshot().time_dilation, 1.0);
    runtime.shutdown();
}
