//! The engine without sockets: a `GameWorld` stepped by hand.

use std::time::{Duration, Instant};

use gsp_engine::components::SPEECH_BURST;
use gsp_engine::systems::rules::TOO_FAST;
use gsp_engine::{
    CloseReason, GameWorld, GatewayKind, JoinError, MoveInput, Outbound, OutboundLimits,
    RefusalReason, ReplicationConfig, Session, TextEvent, WorldConfig, WorldMap,
};
use gsp_protocol::snapshot::{Quantizer, Replica, SnapshotHeader};
use gsp_protocol::ServerDatagram;

struct Harness {
    world: GameWorld,
}

impl Harness {
    fn new(config: WorldConfig) -> Harness {
        Harness {
            world: GameWorld::new(config, WorldMap::default_world()),
        }
    }

    fn try_join(&mut self, name: &str, kind: GatewayKind) -> Result<Session, JoinError> {
        self.world.join_stepping(name, kind)
    }

    fn join(&mut self, name: &str, kind: GatewayKind) -> Session {
        self.try_join(name, kind).expect("join")
    }
}

/// A graphical player's view of the world, fed the snapshots it received.
struct Eyes {
    replica: Replica,
    last_header: Option<SnapshotHeader>,
    payload_sizes: Vec<usize>,
}

impl Eyes {
    fn new(session: &Session) -> Eyes {
        Eyes {
            replica: Replica::new(Quantizer::new(session.quantization).unwrap()),
            last_header: None,
            payload_sizes: Vec::new(),
        }
    }

    /// Decodes the snapshots waiting, acknowledges them, returns the other
    /// messages.
    fn read(&mut self, session: &mut Session) -> Vec<Outbound> {
        let mut others = Vec::new();
        while let Ok(m) = session.receiver.try_recv() {
            match m {
                Outbound::Snapshot(bytes) => {
                    let Ok(ServerDatagram::Snapshot { header, payload }) =
                        ServerDatagram::decode(&bytes)
                    else {
                        panic!("not a snapshot datagram");
                    };
                    assert!(bytes.len() <= 1100, "{} bytes", bytes.len());
                    self.replica.receive(&header, &payload).unwrap();
                    self.last_header = Some(header);
                    self.payload_sizes.push(payload.len());
                }
                other => others.push(other),
            }
        }
        let (ack, bits) = self.replica.acks();
        session.sender.acknowledge(ack, bits);
        others
    }

    fn position(&self, id: u32) -> Option<[f32; 3]> {
        let e = self.replica.latest().get(id)?;
        Some(self.replica.quantizer().position_of(e.state.position))
    }

    fn sees(&self) -> Vec<u32> {
        self.replica
            .latest()
            .entities
            .iter()
            .map(|e| e.id)
            .collect()
    }
}

fn walk(session: &Session, sequence: u32, x: f32, z: f32) {
    session.sender.input(MoveInput {
        sequence,
        move_x: x,
        move_z: z,
    });
}

fn texts(session: &mut Session) -> Vec<TextEvent> {
    let mut out = Vec::new();
    while let Ok(m) = session.receiver.try_recv() {
        if let Outbound::Text(t) = m {
            out.push(t);
        }
    }
    out
}

/// Limits small enough for a test: 2 kB pending for a third of a second.
fn tight_limits() -> WorldConfig {
    WorldConfig {
        outbound: OutboundLimits {
            soft_bytes: 2048,
            grace: Duration::from_millis(333),
            hard_bytes: 64 * 1024,
        },
        ..WorldConfig::default()
    }
}

#[test]
fn a_session_that_stops_reading_is_dropped_and_the_tick_goes_on() {
    let mut h = Harness::new(tight_limits());
    let mut reader = h.join("reader", GatewayKind::Quic);
    let _stuck = h.join("stuck", GatewayKind::Quic);
    let start = Instant::now();
    for _ in 0..300 {
        // The reader keeps the stuck one's queue growing: it looks around.
        reader.sender.command("look").ok();
        h.world.step();
        while reader.receiver.try_recv().is_ok() {}
    }
    // 300 ticks of two players is nothing; the stuck one did not slow them.
    assert!(start.elapsed() < Duration::from_secs(10));
    let stats = h.world.stats().snapshot();
    assert_eq!(stats.slow_disconnects, 1);
    assert_eq!(stats.players_quic, 1);
    assert_eq!(h.world.entity_count(), 1);
    // The reader is still served.
    h.world.step();
    assert!(matches!(
        reader.receiver.try_recv(),
        Ok(Outbound::Snapshot(_)) | Ok(Outbound::Text(_))
    ));
}

#[test]
fn a_session_that_reads_slowly_but_keeps_up_is_not_dropped() {
    let mut h = Harness::new(tight_limits());
    let mut slow = h.join("slow", GatewayKind::Quic);
    let mut talker = h.join("talker", GatewayKind::Telnet);
    for tick in 0..300 {
        talker.sender.command("look").ok();
        h.world.step();
        while talker.receiver.try_recv().is_ok() {}
        // Reads only every fifth tick, but then everything.
        if tick % 5 == 0 {
            while slow.receiver.try_recv().is_ok() {}
        }
    }
    let stats = h.world.stats().snapshot();
    assert_eq!(stats.slow_disconnects, 0);
    assert_eq!(stats.players_quic + stats.players_telnet, 2);
}

#[test]
fn a_crowd_bursting_speech_cannot_drop_a_bystander() {
    let mut h = Harness::new(WorldConfig::default());
    let mut bystander = h.join("bystander", GatewayKind::Telnet);
    let mut speakers: Vec<Session> = (0..40)
        .map(|i| h.join(&format!("speaker{i}"), GatewayKind::Telnet))
        .collect();
    h.world.step();
    while bystander.receiver.try_recv().is_ok() {}
    for s in &mut speakers {
        while s.receiver.try_recv().is_ok() {}
    }
    // Everyone bursts 20 lines at once (within the command rate limit).
    for (i, s) in speakers.iter().enumerate() {
        for line in 0..20 {
            s.sender
                .command(format!("say line {line} from {i}"))
                .unwrap();
        }
    }
    let mut heard = 0;
    for _ in 0..3 {
        h.world.step();
        heard += texts(&mut bystander)
            .iter()
            .filter(|t| matches!(t, TextEvent::Said { .. }))
            .count();
    }
    // Each speaker got a burst of 5 lines out, no more.
    assert_eq!(heard, 40 * SPEECH_BURST as usize);
    for s in &mut speakers {
        let told: Vec<TextEvent> = texts(s)
            .into_iter()
            .filter(|t| matches!(t, TextEvent::Error(e) if e == TOO_FAST))
            .collect();
        assert_eq!(told.len(), 1, "each speaker is told once");
    }
    let stats = h.world.stats().snapshot();
    assert_eq!(stats.slow_disconnects, 0);
    assert_eq!(stats.players_telnet, 41);
    // Speech refills: a second of ticks later, each may speak again (after
    // a moment of wall time for the gateway's command limit, which the
    // burst emptied).
    for _ in 0..30 {
        h.world.step();
    }
    std::thread::sleep(Duration::from_millis(200));
    speakers[0].sender.command("say again").unwrap();
    h.world.step();
    assert!(texts(&mut bystander)
        .iter()
        .any(|t| matches!(t, TextEvent::Said { text, .. } if text == "again")));
}

#[test]
fn with_external_movement_the_stand_in_leaves_avatars_alone() {
    let mut h = Harness::new(WorldConfig::default());
    h.world
        .world_mut()
        .insert_resource(gsp_engine::systems::simulate::ExternalMovement);
    let mut p = h.join("pat", GatewayKind::Quic);
    let mut eyes = Eyes::new(&p);
    h.world.step();
    eyes.read(&mut p);
    let start = eyes.position(p.entity).unwrap();
    for seq in 1..=10 {
        walk(&p, seq, 1.0, 0.0);
        h.world.step();
        eyes.read(&mut p);
    }
    assert_eq!(eyes.position(p.entity).unwrap(), start);
    // The inputs were still taken, one per tick.
    assert_eq!(eyes.last_header.unwrap().last_input, 10);
}

#[test]
fn walking_across_a_room_boundary_is_seen_by_text_players_there() {
    let mut h = Harness::new(WorldConfig::default());
    let mut tess = h.join("tess", GatewayKind::Telnet);
    tess.sender.command("north").unwrap();
    h.world.step();
    texts(&mut tess);

    let mut quinn = h.join("quinn", GatewayKind::Quic);
    let mut eyes = Eyes::new(&quinn);
    // From the plaza's centre to the tavern's edge at z = 10: 10 m at 6 m/s.
    for seq in 1..=80u32 {
        walk(&quinn, seq, 0.0, 1.0);
        h.world.step();
        eyes.read(&mut quinn);
    }
    let heard = texts(&mut tess);
    assert!(
        heard.iter().any(|e| matches!(e,
            TextEvent::Arrived { name, from: Some(gsp_engine::Direction::South), joined: false, .. }
                if name == "quinn")),
        "{heard:?}"
    );
    // Walls hold: after 80 ticks north the avatar is still inside the tavern.
    let z = eyes.position(quinn.entity).expect("own avatar replicated")[2];
    assert!((10.0..30.0).contains(&z), "z = {z}");
    // Every input was applied, one per tick.
    assert_eq!(eyes.last_header.unwrap().last_input, 80);
}

#[test]
fn one_input_moves_one_tick_and_redundant_copies_are_ignored() {
    let mut h = Harness::new(WorldConfig::default());
    let mut p = h.join("pat", GatewayKind::Quic);
    let mut eyes = Eyes::new(&p);
    h.world.step();
    eyes.read(&mut p);
    let start = eyes.position(p.entity).unwrap();
    // Three datagrams, each repeating the inputs before it.
    p.sender.inputs(1, &[[1.0, 0.0]]);
    p.sender.inputs(2, &[[1.0, 0.0], [1.0, 0.0]]);
    p.sender.inputs(3, &[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]);
    for _ in 0..6 {
        h.world.step();
        eyes.read(&mut p);
    }
    let end = eyes.position(p.entity).unwrap();
    // Three inputs, three ticks of 6 m/s at 30 Hz: 0.6 m, not more.
    assert!(
        ((end[0] - start[0]) - 0.6).abs() < 0.01,
        "{start:?} -> {end:?}"
    );
    assert_eq!(eyes.last_header.unwrap().last_input, 3);
    // A flood of inputs in one tick does not buy speed.
    let moves = [[1.0f32, 0.0]; 8];
    for seq in (11..=200).step_by(8) {
        p.sender.inputs(seq, &moves);
    }
    h.world.step();
    eyes.read(&mut p);
    let after = eyes.position(p.entity).unwrap();
    assert!(
        (after[0] - end[0]) <= 0.21,
        "one tick's walk at most: {after:?}"
    );
}

#[test]
fn entering_and_leaving_interest_creates_and_removes() {
    let mut h = Harness::new(WorldConfig {
        replication: ReplicationConfig {
            view_radius: 8.0,
            ..ReplicationConfig::default()
        },
        ..WorldConfig::default()
    });
    let mut watcher = h.join("watcher", GatewayKind::Quic);
    let mut walker = h.join("walker", GatewayKind::Quic);
    let mut eyes = Eyes::new(&watcher);
    let mut walker_eyes = Eyes::new(&walker);
    h.world.step();
    eyes.read(&mut watcher);
    walker_eyes.read(&mut walker);
    assert!(
        eyes.sees().contains(&walker.entity),
        "both spawn in the plaza"
    );
    // The walker goes east, out of the 8 m view.
    for seq in 1..=60 {
        walk(&walker, seq, 1.0, 0.0);
        h.world.step();
        eyes.read(&mut watcher);
        walker_eyes.read(&mut walker);
    }
    assert_eq!(
        eyes.sees(),
        vec![watcher.entity],
        "the walker left the view"
    );
    // And comes back.
    for seq in 61..=120 {
        walk(&walker, seq, -1.0, 0.0);
        h.world.step();
        eyes.read(&mut watcher);
        walker_eyes.read(&mut walker);
    }
    assert!(eyes.sees().contains(&walker.entity));
    let seen = eyes.position(walker.entity).unwrap();
    let own = walker_eyes.position(walker.entity).unwrap();
    assert_eq!(seen, own, "both see the walker in the same place");
    // A player who quits is removed from the others' view.
    drop(walker);
    for _ in 0..3 {
        h.world.step();
        eyes.read(&mut watcher);
    }
    assert_eq!(eyes.sees(), vec![watcher.entity]);
}

#[test]
fn an_idle_world_sends_only_snapshot_headers() {
    let mut h = Harness::new(WorldConfig::default());
    let mut players: Vec<(Session, Eyes)> = ["ana", "ben", "cy"]
        .iter()
        .map(|n| {
            let s = h.join(n, GatewayKind::Quic);
            let e = Eyes::new(&s);
            (s, e)
        })
        .collect();
    for _ in 0..20 {
        h.world.step();
        for (s, e) in players.iter_mut() {
            e.read(s);
        }
    }
    for (s, e) in &players {
        assert_eq!(e.sees().len(), 3, "everyone sees everyone");
        let tail = &e.payload_sizes[e.payload_sizes.len() - 10..];
        assert!(
            tail.iter().all(|&n| n == 0),
            "{}: {:?}",
            s.entity,
            e.payload_sizes
        );
    }
}

#[test]
fn speech_after_moving_in_the_same_tick_is_heard_in_the_new_room() {
    let mut h = Harness::new(WorldConfig::default());
    let mut ada = h.join("ada", GatewayKind::Telnet);
    let mut bob = h.join("bob", GatewayKind::Telnet);
    bob.sender.command("north").unwrap();
    h.world.step();
    texts(&mut ada);
    texts(&mut bob);
    ada.sender.command("north").unwrap();
    ada.sender.command("say made it").unwrap();
    h.world.step();
    let bob_heard = texts(&mut bob);
    assert!(
        bob_heard
            .iter()
            .any(|e| matches!(e, TextEvent::Said { text, .. } if text == "made it")),
        "{bob_heard:?}"
    );
}

#[test]
fn joins_are_refused_with_reasons() {
    let mut h = Harness::new(WorldConfig {
        max_players: 1,
        ..WorldConfig::default()
    });
    let _ada = h.join("ada", GatewayKind::Telnet);
    assert_eq!(
        h.try_join("Ada", GatewayKind::Quic).unwrap_err(),
        JoinError::Refused(RefusalReason::NameTaken)
    );
    assert_eq!(
        h.try_join("bob", GatewayKind::Quic).unwrap_err(),
        JoinError::Refused(RefusalReason::ServerFull)
    );
    assert_eq!(
        h.try_join("!", GatewayKind::Quic).unwrap_err(),
        JoinError::Refused(RefusalReason::BadName)
    );
}

#[test]
fn quit_and_dropping_the_sender_both_remove_the_avatar() {
    let mut h = Harness::new(WorldConfig::default());
    let mut ada = h.join("ada", GatewayKind::Telnet);
    let bob = h.join("bob", GatewayKind::Quic);
    ada.sender.command("quit").unwrap();
    h.world.step();
    let mut closed = false;
    while let Ok(m) = ada.receiver.try_recv() {
        closed |= m == Outbound::Closed(CloseReason::Quit);
    }
    assert!(closed);
    drop(bob);
    h.world.step();
    assert_eq!(h.world.entity_count(), 0);
    let s = h.world.stats().snapshot();
    assert_eq!((s.players_telnet, s.players_quic), (0, 0));
}

#[test]
fn shutting_down_says_goodbye() {
    let mut h = Harness::new(WorldConfig::default());
    let mut ada = h.join("ada", GatewayKind::Telnet);
    h.world.shut_down();
    let mut last = None;
    while let Ok(m) = ada.receiver.try_recv() {
        last = Some(m);
    }
    assert_eq!(last, Some(Outbound::Closed(CloseReason::ShuttingDown)));
    assert_eq!(
        h.try_join("bob", GatewayKind::Telnet).unwrap_err(),
        JoinError::Refused(RefusalReason::ShuttingDown)
    );
}

#[test]
fn a_command_flood_is_rate_limited_per_session() {
    let mut h = Harness::new(WorldConfig::default());
    let ada = h.join("ada", GatewayKind::Telnet);
    let accepted = (0..100)
        .filter(|_| ada.sender.command("look").is_ok())
        .count();
    assert!((20..=22).contains(&accepted), "{accepted}");
}
