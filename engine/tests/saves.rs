//! Saves, characters, takeover and the bus, without sockets or a database:
//! a world stepped by hand, its save channel and bus link read directly.

use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender};
use gsp_engine::components::{Attributes, Persistent, Position, Replicated, KIND_PROP};
use gsp_engine::{
    AccountId, BusLink, BusMessage, CharacterState, CloseReason, EntityRecord, GameWorld,
    GatewayKind, JoinRequest, Outbound, Persist, PersistSink, SavedWorld, Session, TextEvent, Vec3,
    WorldConfig, WorldMap, WorldSave,
};

fn world() -> GameWorld {
    GameWorld::new(WorldConfig::default(), WorldMap::default_world())
}

fn saving_world(interval: u64, capacity: usize) -> (GameWorld, Receiver<Persist>) {
    let mut w = world();
    let (tx, rx) = bounded(capacity);
    w.enable_saves(PersistSink { tx }, interval);
    (w, rx)
}

fn world_saves(rx: &Receiver<Persist>) -> Vec<WorldSave> {
    rx.try_iter()
        .filter_map(|m| match m {
            Persist::World(s) => Some(s),
            Persist::Character(..) => None,
        })
        .collect()
}

fn spawn_prop(w: &mut GameWorld, key: &str, at: Vec3) -> bevy_ecs::entity::Entity {
    w.world_mut()
        .spawn((
            Persistent { key: key.into() },
            Position(at),
            Replicated::new(KIND_PROP),
        ))
        .id()
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

fn account_join(
    w: &mut GameWorld,
    name: &str,
    id: i64,
    character: Option<CharacterState>,
) -> Session {
    w.join_as_stepping(JoinRequest {
        name: name.into(),
        kind: GatewayKind::Telnet,
        account: Some(AccountId(id)),
        character,
    })
    .expect("join")
}

#[test]
fn saves_hold_only_what_changed_since_the_last() {
    let (mut w, rx) = saving_world(5, 16);
    let a = spawn_prop(&mut w, "test:a", Vec3::new(1.0, 0.0, 1.0));
    spawn_prop(&mut w, "test:b", Vec3::new(2.0, 0.0, 2.0));
    let c = spawn_prop(&mut w, "test:c", Vec3::new(3.0, 0.0, 3.0));
    for _ in 0..5 {
        w.step();
    }
    let first = world_saves(&rx);
    assert_eq!(first.len(), 1);
    let mut keys: Vec<&str> = first[0].upserts.iter().map(|r| &*r.key).collect();
    keys.sort();
    assert_eq!(keys, ["test:a", "test:b", "test:c"]);

    // Nothing changed: the next save is empty.
    for _ in 0..5 {
        w.step();
    }
    let second = world_saves(&rx);
    assert_eq!(second.len(), 1);
    assert!(second[0].upserts.is_empty() && second[0].removals.is_empty());

    // One moves, one gets an attribute, one goes.
    w.world_mut().get_mut::<Position>(a).unwrap().0.x = 9.0;
    w.world_mut().despawn(c);
    let b = w
        .world_mut()
        .query::<(bevy_ecs::entity::Entity, &Persistent)>()
        .iter(w.world())
        .find(|(_, p)| &*p.key == "test:b")
        .unwrap()
        .0;
    let mut attrs = serde_json::Map::new();
    attrs.insert("colour".into(), "red".into());
    w.world_mut().entity_mut(b).insert(Attributes(attrs));
    for _ in 0..5 {
        w.step();
    }
    let third = world_saves(&rx);
    assert_eq!(third.len(), 1);
    let mut changed: Vec<&EntityRecord> = third[0].upserts.iter().collect();
    changed.sort_by_key(|r| r.key.clone());
    assert_eq!(changed.len(), 2);
    assert_eq!(&*changed[0].key, "test:a");
    assert_eq!(changed[0].position.x, 9.0);
    assert_eq!(&*changed[1].key, "test:b");
    assert_eq!(changed[1].attributes["colour"], "red");
    assert_eq!(third[0].removals, vec![Arc::<str>::from("test:c")]);
}

#[test]
fn a_full_channel_defers_changes_to_the_next_save_without_losing_them() {
    let (mut w, rx) = saving_world(2, 1);
    let a = spawn_prop(&mut w, "test:a", Vec3::new(1.0, 0.0, 1.0));
    w.step();
    w.step(); // save 1 fills the channel
    w.world_mut().get_mut::<Position>(a).unwrap().0.x = 5.0;
    w.step();
    w.step(); // save 2: no room, deferred
    assert_eq!(world_saves(&rx).len(), 1);
    w.step();
    w.step(); // save 3 carries the move
    let saves = world_saves(&rx);
    assert_eq!(saves.len(), 1);
    assert_eq!(saves[0].upserts.len(), 1);
    assert_eq!(saves[0].upserts[0].position.x, 5.0);
}

#[test]
fn restored_entities_are_not_saved_again_until_they_change() {
    let (mut w, rx) = saving_world(3, 16);
    let record = EntityRecord {
        key: "test:crate".into(),
        kind: KIND_PROP,
        position: Vec3::new(4.0, 0.5, 4.0),
        rotation: [0.0, 0.0, 0.0, 1.0],
        velocity: Vec3::ZERO,
        body: None,
        attributes: Default::default(),
    };
    w.restore(&SavedWorld {
        generation: 7,
        tick: 100,
        entities: vec![record.clone()],
        mod_storage: vec![],
    });
    for _ in 0..3 {
        w.step();
    }
    let saves = world_saves(&rx);
    assert_eq!(saves.len(), 1);
    assert!(saves[0].upserts.is_empty(), "{:?}", saves[0].upserts);
    assert_eq!(w.entity_count(), 1);
}

/// A saved character standing in the tavern, with `attributes`.
fn in_the_tavern(attributes: serde_json::Map<String, serde_json::Value>) -> CharacterState {
    let map = WorldMap::default_world();
    CharacterState {
        position: map
            .rooms
            .iter()
            .find(|r| r.key == "tavern")
            .unwrap()
            .spawn_point(),
        room: Some("tavern".into()),
        attributes,
    }
}

#[test]
fn a_character_comes_back_where_it_was_and_is_saved_on_leaving() {
    let (mut w, rx) = saving_world(0, 16);
    let mut attributes = serde_json::Map::new();
    attributes.insert("gold".into(), 12.into());
    let mut ada = account_join(&mut w, "ada", 1, Some(in_the_tavern(attributes)));
    w.step();
    let seen = texts(&mut ada);
    assert!(
        seen.iter()
            .any(|t| matches!(t, TextEvent::Room(v) if v.key == "tavern")),
        "{seen:?}"
    );
    drop(ada);
    w.step();
    let saved: Vec<_> = rx
        .try_iter()
        .filter_map(|m| match m {
            Persist::Character(id, state) => Some((id, state)),
            _ => None,
        })
        .collect();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].0, AccountId(1));
    assert_eq!(saved[0].1.room.as_deref(), Some("tavern"));
    assert_eq!(saved[0].1.attributes["gold"], 12);
}

#[test]
fn a_player_back_before_the_store_has_the_save_gets_the_world_s_copy() {
    let (mut w, _rx) = saving_world(0, 16);
    let ada = account_join(
        &mut w,
        "ada",
        1,
        Some(in_the_tavern(serde_json::Map::new())),
    );
    w.step();
    drop(ada);
    w.step();
    // Back at once: the gateway read the store before the save reached it,
    // and hands over nothing (a new character, at the start).
    let mut ada = account_join(&mut w, "ada", 1, None);
    w.step();
    let seen = texts(&mut ada);
    assert!(
        seen.iter()
            .any(|t| matches!(t, TextEvent::Room(v) if v.key == "tavern")),
        "{seen:?}"
    );
    // Another account never gets it.
    drop(ada);
    w.step();
    let mut other = account_join(&mut w, "bob", 2, None);
    w.step();
    let seen = texts(&mut other);
    assert!(
        !seen
            .iter()
            .any(|t| matches!(t, TextEvent::Room(v) if v.key == "tavern")),
        "{seen:?}"
    );
}

#[test]
fn a_second_login_takes_the_character_over() {
    let mut w = world();
    let mut first = account_join(&mut w, "ada", 1, None);
    w.step();
    let before = w.entity_count();
    let mut second = account_join(&mut w, "Ada", 1, None);
    w.step();
    assert_eq!(second.entity, first.entity, "the same avatar goes on");
    assert_eq!(w.entity_count(), before);
    let mut closed = None;
    while let Ok(m) = first.receiver.try_recv() {
        if let Outbound::Closed(reason) = m {
            closed = Some(reason);
        }
    }
    assert_eq!(closed, Some(CloseReason::TakenOver));
    let seen = texts(&mut second);
    assert!(
        seen.iter().any(|t| matches!(t, TextEvent::Room(_))),
        "{seen:?}"
    );
    second.sender.command("say still me").unwrap();
    w.step();
    assert!(texts(&mut second)
        .iter()
        .any(|t| matches!(t, TextEvent::Said { text, by_you: true, .. } if text == "still me")));
    // A guest cannot take an account's name while it is online.
    assert!(w.join_stepping("ada", GatewayKind::Quic).is_err());
}

struct Bus {
    to_world: Sender<BusMessage>,
    from_world: Receiver<BusMessage>,
}

fn connect(w: &mut GameWorld, name: &str) -> Bus {
    let (out_tx, out_rx) = bounded(64);
    let (in_tx, in_rx) = bounded(64);
    w.connect_bus(BusLink {
        world: name.into(),
        outbound: out_tx,
        inbound: in_rx,
    });
    Bus {
        to_world: in_tx,
        from_world: out_rx,
    }
}

#[test]
fn chat_goes_out_on_the_bus_and_comes_back_to_everyone() {
    let mut w = world();
    let bus = connect(&mut w, "east");
    let mut ada = w.join_stepping("ada", GatewayKind::Telnet).unwrap();
    let mut bob = w.join_stepping("bob", GatewayKind::Quic).unwrap();
    ada.sender.command("chat trade selling a sword").unwrap();
    w.step();
    let out: Vec<BusMessage> = bus.from_world.try_iter().collect();
    let chat = out
        .iter()
        .find(|m| matches!(m, BusMessage::Chat { .. }))
        .expect("chat published")
        .clone();
    assert_eq!(
        chat,
        BusMessage::Chat {
            world: "east".into(),
            channel: "trade".into(),
            from: "ada".into(),
            text: "selling a sword".into()
        }
    );
    // Nobody hears it before the bus echoes it back (no double delivery).
    assert!(!texts(&mut bob)
        .iter()
        .any(|t| matches!(t, TextEvent::Chat { .. })));
    bus.to_world.send(chat).unwrap();
    bus.to_world
        .send(BusMessage::Chat {
            world: "west".into(),
            channel: "public".into(),
            from: "cy".into(),
            text: "hello from the west".into(),
        })
        .unwrap();
    w.step();
    let heard = texts(&mut bob);
    assert!(heard
        .iter()
        .any(|t| matches!(t, TextEvent::Chat { from, here: true, .. } if from == "ada")));
    assert!(heard.iter().any(|t| matches!(t, TextEvent::Chat { from, world, here: false, .. } if from == "cy" && world == "west")));
    assert_eq!(
        heard
            .iter()
            .filter(|t| matches!(t, TextEvent::Chat { .. }))
            .count(),
        2
    );
    let _ = texts(&mut ada);
}

#[test]
fn presence_goes_out_on_joins_and_who_all_lists_every_world() {
    let mut w = world();
    let bus = connect(&mut w, "east");
    let mut ada = w.join_stepping("ada", GatewayKind::Telnet).unwrap();
    w.step();
    let presence: Vec<Vec<String>> = bus
        .from_world
        .try_iter()
        .filter_map(|m| match m {
            BusMessage::Presence { world, players, .. } if world == "east" => Some(players),
            _ => None,
        })
        .collect();
    assert_eq!(presence.last(), Some(&vec!["ada".to_owned()]));
    bus.to_world
        .send(BusMessage::Presence {
            world: "west".into(),
            players: vec!["bob".into(), "cy".into()],
            sent_ms: 0,
        })
        .unwrap();
    w.step();
    let _ = texts(&mut ada);
    ada.sender.command("who all").unwrap();
    w.step();
    let text = texts(&mut ada)
        .iter()
        .find_map(|t| matches!(t, TextEvent::WhoAll(_)).then(|| gsp_engine::text::render_plain(t)))
        .expect("who all answered");
    assert!(text.starts_with("3 players online in 2 worlds:"), "{text}");
    assert!(
        text.contains("east (here)") && text.contains("ada"),
        "{text}"
    );
    assert!(text.contains("west") && text.contains("bob, cy"), "{text}");
}
