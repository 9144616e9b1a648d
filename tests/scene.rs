//! What a graphical client is told to draw the world (the map, names and
//! looks of entities) and the text it reads, against the real binary.

mod common;

use std::time::Duration;

use common::{Telnet, World};
use gsp_client::scene::{Scene, SceneUpdate};
use gsp_client::{parse_fingerprint, Client, Trust};
use gsp_protocol::map::{chunk_map, ShapeKind};
use gsp_protocol::{CloseCode, EventKind, ServerMessage};

fn trust(world: &World) -> Trust {
    Trust::Fingerprint(parse_fingerprint(&world.fingerprint).unwrap())
}

async fn join(world: &World, name: &str) -> Client {
    Client::connect(world.quic, name, &trust(world))
        .await
        .unwrap_or_else(|e| panic!("{name} could not connect: {e}"))
}

/// Feeds `client`'s stream into `scene` until `done` holds, failing after 10 s.
async fn until(client: &mut Client, scene: &mut Scene, what: &str, done: impl Fn(&Scene) -> bool) {
    let wait = async {
        while !done(scene) {
            match client.next_event().await {
                Some(Ok(m)) => {
                    scene.apply(&m).expect("a well-formed map");
                }
                Some(Err(e)) => panic!("stream error waiting for {what}: {e}"),
                None => panic!("stream ended waiting for {what}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

fn heard(scene: &Scene, kind: EventKind, needle: &str) -> bool {
    scene
        .lines()
        .any(|l| l.kind == kind && l.text.contains(needle))
}

#[tokio::test]
async fn graphical_players_get_the_map_names_looks_and_text() {
    let world = World::start(&[]);
    let mut tess = Telnet::login(world.telnet, "tess").await;

    let mut ada = join(&world, "ada").await;
    let mut scene = Scene::new();
    // The map comes first after the welcome, whole.
    let first = tokio::time::timeout(Duration::from_secs(10), ada.next_event())
        .await
        .expect("a first message")
        .expect("the stream is open")
        .expect("a valid message");
    assert!(matches!(first, ServerMessage::Map(_)), "{first:?}");
    assert_eq!(scene.apply(&first).unwrap(), SceneUpdate::MapComplete);
    let map = scene.map().unwrap().clone();
    let keys: Vec<&str> = map.rooms.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        ["plaza", "tavern", "cellar", "market", "gate", "forest"]
    );
    let plaza = &map.rooms[usize::from(map.start)];
    assert_eq!(plaza.title, "The Plaza");
    assert_eq!(plaza.exits.len(), 3);
    assert_eq!(map.rooms[usize::from(plaza.exits[0].to)].key, "tavern");
    // The geometry: the plaza's floor slab first, in its colour; every
    // stair step and wall too.
    assert_eq!(map.solids.len(), 69);
    assert_eq!(map.solids[0].center, [0.0, -0.25, 0.0]);
    assert_eq!(map.solids[0].colour, 0xb89a6a);
    assert!(map.solids.iter().all(|s| s.colour != 0));
    let avatar = map.kind(0).expect("the avatar kind");
    assert_eq!(avatar.look.shape, ShapeKind::Capsule);
    assert!(avatar.at_feet);

    // Names: our own, then bob's as he comes into view, and the ball's
    // label and look, which the football mod sets.
    let me = ada.entity_id;
    until(&mut ada, &mut scene, "ada's own name", |s| {
        s.name_of(me) == Some("ada")
    })
    .await;
    let mut bob = join(&world, "bob").await;
    let bob_id = bob.entity_id;
    until(&mut ada, &mut scene, "bob's name", |s| {
        s.name_of(bob_id) == Some("bob")
    })
    .await;
    let ball_of = |s: &Scene| s.infos().find(|i| i.name == "football").map(|i| i.id);
    until(&mut ada, &mut scene, "the ball's label", |s| {
        ball_of(s).is_some()
    })
    .await;
    let ball = ball_of(&scene).unwrap();
    let drawn = scene.look_of(ball, 1);
    assert_eq!(drawn.colour, 0xf4f4f0);
    assert_eq!(drawn.look.shape, ShapeKind::Ball);
    assert!(!drawn.at_feet);

    // Text both ways: the telnet player's say, our look and say.
    tess.send("say hello, ada").await;
    until(&mut ada, &mut scene, "tess's say", |s| {
        heard(s, EventKind::Say, "tess says, \"hello, ada\"")
    })
    .await;
    ada.command("say hi tess").await.unwrap();
    tess.expect("ada says, \"hi tess\"").await;
    ada.command("look").await.unwrap();
    until(&mut ada, &mut scene, "the look", |s| {
        heard(s, EventKind::Room, "Players here:")
    })
    .await;

    // A map chunk sent the wrong way is malformed: only bob's connection closes.
    let mut frame = Vec::new();
    let chunk = chunk_map(&map).remove(0);
    gsp_protocol::framing::encode_frame(&ServerMessage::Map(chunk).encode(), &mut frame);
    bob.send_raw_stream(&frame).await.unwrap();
    let code = tokio::time::timeout(Duration::from_secs(5), bob.closed())
        .await
        .expect("bob's connection closed")
        .0;
    assert_eq!(code, Some(CloseCode::Malformed));
    tess.send("say still here?").await;
    until(&mut ada, &mut scene, "tess again", |s| {
        heard(s, EventKind::Say, "still here?")
    })
    .await;
}
