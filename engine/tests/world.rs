//! The engine without sockets: a `GameWorld` stepped by hand.

use std::time::{Duration, Instant};

use gsp_engine::{
    CloseReason, GameWorld, GatewayKind, JoinError, MoveInput, Outbound, RefusalReason, Session,
    TextEvent, WorldConfig, WorldMap,
};

struct Harness {
    world: GameWorld,
    rt: tokio::runtime::Runtime,
}

impl Harness {
    fn new(config: WorldConfig) -> Harness {
        Harness {
            world: GameWorld::new(config, WorldMap::default_world()),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn try_join(&mut self, name: &str, kind: GatewayKind) -> Result<Session, JoinError> {
        let handle = self.world.handle();
        let name = name.to_owned();
        let task = self.rt.spawn(async move { handle.join(&name, kind).await });
        // Let the join reach the queue, tick, let the reply arrive.
        for _ in 0..10 {
            self.rt.block_on(tokio::task::yield_now());
            if task.is_finished() {
                break;
            }
            self.world.step();
        }
        self.rt.block_on(task).unwrap()
    }

    fn join(&mut self, name: &str, kind: GatewayKind) -> Session {
        self.try_join(name, kind).expect("join")
    }
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

#[test]
fn a_session_that_stops_reading_is_dropped_and_the_tick_goes_on() {
    let mut h = Harness::new(WorldConfig {
        outbound_capacity: 8,
        ..WorldConfig::default()
    });
    let mut reader = h.join("reader", GatewayKind::Quic);
    let _stuck = h.join("stuck", GatewayKind::Quic);
    let start = Instant::now();
    for _ in 0..50 {
        h.world.step();
        while reader.receiver.try_recv().is_ok() {}
    }
    // 50 ticks of two players is nothing; the stuck one did not slow them.
    assert!(start.elapsed() < Duration::from_secs(5));
    let stats = h.world.stats().snapshot();
    assert_eq!(stats.slow_disconnects, 1);
    assert_eq!(stats.players_quic, 1);
    assert_eq!(h.world.entity_count(), 1);
    // The reader is still served.
    h.world.step();
    assert!(matches!(
        reader.receiver.try_recv(),
        Ok(Outbound::State(_)) | Ok(Outbound::Text(_))
    ));
}

#[test]
fn walking_across_a_room_boundary_is_seen_by_text_players_there() {
    let mut h = Harness::new(WorldConfig::default());
    let mut tess = h.join("tess", GatewayKind::Telnet);
    tess.sender.command("north").unwrap();
    h.world.step();
    texts(&mut tess);

    let mut quinn = h.join("quinn", GatewayKind::Quic);
    // From the plaza's centre to the tavern's edge at z = 10: 10 m at 6 m/s.
    for seq in 1..=80u32 {
        quinn.sender.input(MoveInput {
            sequence: seq,
            move_x: 0.0,
            move_z: 1.0,
        });
        h.world.step();
    }
    let heard = texts(&mut tess);
    assert!(
        heard.iter().any(|e| matches!(e,
            TextEvent::Arrived { name, from: Some(gsp_engine::Direction::South), joined: false, .. }
                if name == "quinn")),
        "{heard:?}"
    );
    // Walls hold: after 80 ticks north the avatar is still inside the tavern.
    let mut last = None;
    while let Ok(m) = quinn.receiver.try_recv() {
        if let Outbound::State(s) = m {
            last = Some(s);
        }
    }
    let z = last.unwrap().entities[0].position[2];
    assert!((10.0..30.0).contains(&z), "z = {z}");
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
