//! Benchmarks for GSP, and the helpers they share.
//!
//! Nothing in production runs it: `cargo bench -p gsp-benches` and the
//! report binaries in `src/bin/` run it on a developer's or CI's machine.
//!
//! * `cargo bench -p gsp-benches --bench tick`: one world tick with N
//!   graphical players walking about (simulation, rooms, replication, emit).
//! * `cargo bench -p gsp-benches --bench codecs`: the wire codecs (snapshot
//!   envelope, input decode) and the telnet codec's throughput.
//! * `cargo bench -p gsp-benches --bench replication`: server replication
//!   CPU, 1,000 bodies changed every tick sent to 1 and 20 clients.
//! * `cargo run --release -p gsp-benches --bin replication-report -- --json`:
//!   bits per changed and unchanged entity, send ns per entity·client,
//!   allocations per tick, measured as it runs ([`replication`]).
//! * `cargo bench -p gsp-benches --bench physics`: 1,000 dynamic props and
//!   1,000 walking avatars stepped through the ECS by gsp-physics, and the
//!   same scene stepped by bare rapier, in one group ([`physics`]).
//! * `cargo run --release -p gsp-benches --bin physics-report`: both,
//!   interleaved step by step, and the ratio; then the crowd scenes (1,000
//!   avatars packed into one 20 m room against the same crowd spread out;
//!   `-- TICKS crowd` runs only those).
//! * `benches/load/world-bots.sh N SECS`: a load scenario: a release world
//!   and `gsp bot` with N bots over loopback, printing the swarm's report and
//!   the world's `/status`.
//! * `benches/load/ladder.sh`: the same with 50, 500 and 1,000 bots in turn,
//!   one line each: tick p50/p99, world CPU, bytes per second per bot,
//!   prediction error.
//! * `benches/load/crowd.sh`: the crowd ladder: 100 to 1,000 players in the
//!   start room (¾ QUIC, ¼ telnet, 1 in 10 talking), world and swarm pinned
//!   to a core each, one line per step.
//!
//! Results, and the commands that produce them, are in `benches/README.md`.
//!
//! # Layout
//!
//! - [`physics`]: the physics scene, as ECS entities and in bare rapier.
//! - [`replication`]: the replication scenarios the benchmarks and report share.
//! - [`save_gather`]: the tick thread's share of a world save.
//! - `benches/`: the criterion benchmarks; `src/bin/`: the report binaries;
//!   `load/`: the load scenarios (shell scripts around `gsp world` and `gsp bot`).
//!
//! Tests check behaviour; these check cost. Figures quoted in issues and
//! closing notes come from here.

pub mod physics;
pub mod replication;
pub mod save_gather;

use gsp_engine::{GameWorld, GatewayKind, MoveInput, Session, WorldConfig, WorldMap};

/// A world with `players` graphical players joined, and their sessions.
pub fn populated_world(players: usize) -> (GameWorld, Vec<Session>) {
    let mut world = GameWorld::new(
        WorldConfig {
            max_players: players + 1,
            ..WorldConfig::default()
        },
        WorldMap::default_world(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let handle = world.handle();
    let joins: Vec<_> = (0..players)
        .map(|i| {
            let handle = handle.clone();
            rt.spawn(async move { handle.join(&format!("p{i}"), GatewayKind::Quic).await })
        })
        .collect();
    while !joins.iter().all(|j| j.is_finished()) {
        rt.block_on(tokio::task::yield_now());
        world.step();
    }
    let sessions = joins
        .into_iter()
        .map(|j| rt.block_on(j).expect("task").expect("join"))
        .collect();
    (world, sessions)
}

/// Gives every session a new input, walking in a direction that depends on
/// its index and the sequence number, so avatars spread over the map.
pub fn wander(sessions: &[Session], sequence: u32) {
    for (i, s) in sessions.iter().enumerate() {
        let angle = (i as f32 * 2.399_963) + sequence as f32 * 0.01;
        s.sender.input(MoveInput {
            sequence,
            move_x: angle.cos(),
            move_z: angle.sin(),
        });
    }
}

/// Empties every session's outbound queue, as gateways would, and
/// acknowledges each snapshot at once, as a client on loopback does.
pub fn drain(sessions: &mut [Session]) -> usize {
    let mut n = 0;
    for s in sessions.iter_mut() {
        while let Ok(message) = s.receiver.try_recv() {
            if let gsp_engine::Outbound::Snapshot(bytes) = message {
                if let Ok(gsp_protocol::ServerDatagram::Snapshot { header, .. }) =
                    gsp_protocol::ServerDatagram::decode(&bytes)
                {
                    s.sender.acknowledge(header.sequence, 0);
                }
            }
            n += 1;
        }
    }
    n
}
