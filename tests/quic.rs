//! Graphical players over QUIC meeting text players, and the QUIC
//! gateway's defences, against the real binary.

mod common;

use std::time::Duration;

use common::{Telnet, World};
use gsp_client::{parse_fingerprint, Client, ClientError, Trust};
use gsp_protocol::{CloseCode, EventKind, RefusalCode, ServerDatagram, ServerMessage};

fn trust(world: &World) -> Trust {
    Trust::Fingerprint(parse_fingerprint(&world.fingerprint).unwrap())
}

/// Connects and is welcomed as `name`.
async fn join(world: &World, name: &str) -> Client {
    Client::connect(world.quic, name, &trust(world))
        .await
        .unwrap_or_else(|e| panic!("{name} could not connect: {e}"))
}

/// The code the server closes `client` with (within 5 s).
async fn close_code(client: &Client) -> Option<CloseCode> {
    tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .expect("the server did not close the connection")
        .0
}

/// Waits for a stream event matching `pred`, failing after 10 s.
async fn expect_event(
    client: &mut Client,
    what: &str,
    pred: impl Fn(&ServerMessage) -> bool,
) -> ServerMessage {
    let wait = async {
        loop {
            match client.next_event().await {
                Some(Ok(m)) if pred(&m) => return m,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("stream error waiting for {what}: {e}"),
                None => panic!("stream ended waiting for {what}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn is_text(m: &ServerMessage, kind: EventKind, needle: &str) -> bool {
    matches!(m, ServerMessage::Event { kind: k, text, .. } if *k == kind && text.contains(needle))
}

#[tokio::test]
async fn graphical_players_see_each_other_where_they_are() {
    let world = World::start(&[]);
    let mut ada = join(&world, "ada").await;
    let mut bob = join(&world, "bob").await;
    watch(&mut bob, 5).await;
    assert!(position_of(&bob, ada.entity_id).is_some(), "bob sees ada");
    // Ada walks east for a second, then stops; both end up agreeing on
    // where she is, to the quantization step.
    let datagrams = ada.datagrams();
    for i in 0..45 {
        ada.send_input(if i < 30 { 1.0 } else { 0.0 }, 0.0).unwrap();
        if let ServerDatagram::Snapshot { header, payload } =
            datagrams.next_datagram().await.unwrap()
        {
            ada.apply_snapshot(&header, &payload).unwrap();
        }
    }
    watch(&mut ada, 10).await;
    let mine = position_of(&ada, ada.entity_id).unwrap();
    assert!(mine[0] > 4.0, "ada walked east: {mine:?}");
    // Bob reads through what queued up while he was not looking.
    let agreed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            watch(&mut bob, 1).await;
            if position_of(&bob, ada.entity_id) == Some(mine) {
                return;
            }
        }
    })
    .await;
    assert!(agreed.is_ok(), "bob sees ada where she is: {mine:?}");
    // Ada leaves; bob's view loses her.
    let ada_id = ada.entity_id;
    ada.close();
    drop(ada);
    let gone = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            watch(&mut bob, 1).await;
            if position_of(&bob, ada_id).is_none() {
                return;
            }
        }
    })
    .await;
    assert!(gone.is_ok(), "ada was removed from bob's view");
}

#[tokio::test]
async fn quic_and_telnet_players_see_and_hear_each_other() {
    let world = World::start(&[]);
    // The telnet player waits in the tavern, north of the plaza.
    let mut tess = Telnet::login(world.telnet, "tess").await;
    tess.send("north").await;
    tess.expect("The Prancing Pony").await;

    let mut quinn = join(&world, "quinn").await;
    assert_eq!(quinn.tick_rate, 30);
    expect_event(&mut quinn, "the first room", |m| {
        is_text(m, EventKind::Room, "The Plaza")
    })
    .await;

    // Walk north until the snapshots show us inside the tavern (z >= 10).
    let datagrams = quinn.datagrams();
    let walk = async {
        loop {
            quinn.send_input(0.0, 1.0).unwrap();
            if let Ok(ServerDatagram::Snapshot { header, payload }) =
                datagrams.next_datagram().await
            {
                quinn.apply_snapshot(&header, &payload).unwrap();
                let me = position_of(&quinn, quinn.entity_id).expect("own avatar replicated");
                if me[2] >= 10.5 {
                    return me;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(15), walk)
        .await
        .expect("walked into the tavern");
    tess.expect("quinn arrives from the south.").await;
    // Stop walking before the far wall, and talk.
    quinn.send_input(0.0, 0.0).unwrap();
    quinn.command("say hello, tess").await.unwrap();
    tess.expect("quinn says, \"hello, tess\"").await;

    tess.send("say welcome, quinn").await;
    let heard = expect_event(&mut quinn, "tess's greeting", |m| {
        is_text(m, EventKind::Say, "welcome, quinn")
    })
    .await;
    match heard {
        ServerMessage::Event { actor, room, .. } => {
            assert_eq!(actor.as_deref(), Some("tess"));
            assert_eq!(room.as_deref(), Some("tavern"));
        }
        other => panic!("{other:?}"),
    }

    tess.send("look").await;
    tess.expect("Players here: tess (you), quinn.").await;
    let status = world.status();
    assert_eq!(status["players"]["quic"], 1, "{status}");
    assert_eq!(status["players"]["telnet"], 1, "{status}");
}

/// Where the client's newest snapshot puts entity `id`.
fn position_of(c: &Client, id: u32) -> Option<[f32; 3]> {
    let e = c.replica().latest().get(id)?;
    Some(c.quantizer().position_of(e.state.position))
}

/// Applies the snapshots that arrive for `ticks` snapshots, acknowledging them.
async fn watch(c: &mut Client, snapshots: usize) {
    let datagrams = c.datagrams();
    let mut seen = 0;
    while seen < snapshots {
        if let ServerDatagram::Snapshot { header, payload } =
            datagrams.next_datagram().await.unwrap()
        {
            c.apply_snapshot(&header, &payload).unwrap();
            c.send_acks().unwrap();
            seen += 1;
        }
    }
}

/// A second player who must keep receiving snapshots while others misbehave.
async fn bystander(world: &World) -> (Client, u32) {
    let c = join(world, "bystander").await;
    let tick = loop {
        if let ServerDatagram::Snapshot { header, .. } = c.next_datagram().await.unwrap() {
            break header.tick;
        }
    };
    (c, tick)
}

async fn assert_still_served(c: &Client, after_tick: u32) {
    let next = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let ServerDatagram::Snapshot { header, .. } = c.next_datagram().await.unwrap() {
                if header.tick > after_tick + 5 {
                    return header.tick;
                }
            }
        }
    })
    .await;
    assert!(next.is_ok(), "bystander stopped receiving state");
}

#[tokio::test]
async fn malformed_input_closes_only_the_offending_connection() {
    let world = World::start(&[]);
    let (bystander, tick) = bystander(&world).await;

    // A garbage datagram.
    let c = join(&world, "dgram").await;
    c.send_raw_datagram(vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8])
        .unwrap();
    assert_eq!(close_code(&c).await, Some(CloseCode::Malformed));

    // A valid-length frame holding garbage on the stream.
    let mut c = join(&world, "stream").await;
    let mut frame = 16u32.to_le_bytes().to_vec();
    frame.extend_from_slice(&[0xff; 16]);
    c.send_raw_stream(&frame).await.unwrap();
    assert_eq!(close_code(&c).await, Some(CloseCode::Malformed));

    // A frame announcing a gigabyte.
    let mut c = join(&world, "huge").await;
    c.send_raw_stream(&(1u32 << 30).to_le_bytes())
        .await
        .unwrap();
    assert_eq!(close_code(&c).await, Some(CloseCode::TooLarge));

    // A second hello after the handshake breaks the protocol's rules.
    let mut c = join(&world, "twice").await;
    let hello = gsp_protocol::ClientMessage::Hello {
        protocol_version: 1,
        name: "again".into(),
        password: None,
        token: None,
        create: false,
    }
    .encode();
    let mut frame = Vec::new();
    gsp_protocol::framing::encode_frame(&hello, &mut frame);
    c.send_raw_stream(&frame).await.unwrap();
    assert_eq!(close_code(&c).await, Some(CloseCode::ProtocolViolation));

    assert_still_served(&bystander, tick).await;
    let status = world.status();
    assert_eq!(
        status["players"]["quic"], 1,
        "only the bystander is left: {status}"
    );
    assert_eq!(world.get("/health").0, 200);
}

#[tokio::test]
async fn handshake_refusals_are_clear() {
    let world = World::start(&[]);
    let _first = join(&world, "quinn").await;
    match Client::connect(world.quic, "QUINN", &trust(&world)).await {
        Err(ClientError::Refused { code, reason }) => {
            assert_eq!(code, RefusalCode::NameTaken);
            assert!(reason.contains("in use"), "{reason}");
        }
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    match Client::connect(world.quic, "no spaces allowed", &trust(&world)).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, RefusalCode::BadName),
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    let endpoint = gsp_client::client_endpoint(&trust(&world)).unwrap();
    match Client::connect_as_version(&endpoint, world.quic, "future", 99).await {
        Err(ClientError::Refused { code, reason }) => {
            assert_eq!(code, RefusalCode::VersionMismatch);
            let expected = format!("version {}", gsp_protocol::PROTOCOL_VERSION);
            assert!(reason.contains(&expected), "{reason}");
        }
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    // A pinned fingerprint that does not match never gets as far as a hello.
    let wrong = Trust::Fingerprint([7; 32]);
    assert!(Client::connect(world.quic, "mallory", &wrong)
        .await
        .is_err());
}

#[tokio::test]
async fn graphical_players_log_in_with_passwords_and_tokens() {
    use gsp_client::ConnectOptions;
    let world = World::start(&["--no-guests"]);
    let trust = trust(&world);

    // A guest is refused by a world without guests.
    match Client::connect(world.quic, "gus", &trust).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, RefusalCode::AccountRequired),
        Ok(_) => panic!("a guest got into a world without guests"),
        Err(e) => panic!("unexpected error: {e}"),
    }

    // Creating an account hands out a resume token.
    let quinn = Client::connect_as(
        world.quic,
        &ConnectOptions::create("quinn", common::PASSWORD),
        &trust,
    )
    .await
    .expect("create over QUIC");
    let token = quinn.token().expect("a resume token").to_owned();
    drop(quinn);

    // The token logs in again, as does the password; a wrong one does not.
    let mut again = Client::connect_as(world.quic, &ConnectOptions::token(&token), &trust)
        .await
        .expect("log in with the token");
    again.command("say back again").await.unwrap();
    expect_event(&mut again, "own speech", |m| {
        is_text(m, EventKind::Say, "back again")
    })
    .await;
    drop(again);
    match Client::connect_as(
        world.quic,
        &ConnectOptions::password("quinn", "wrong password"),
        &trust,
    )
    .await
    {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, RefusalCode::BadCredentials),
        Ok(_) => panic!("a wrong password got in"),
        Err(e) => panic!("unexpected error: {e}"),
    }
    Client::connect_as(
        world.quic,
        &ConnectOptions::password("quinn", common::PASSWORD),
        &trust,
    )
    .await
    .expect("log in with the password");

    // The account is the same one telnet players use.
    let mut tess = Telnet::connect(world.telnet).await;
    tess.expect("name").await;
    tess.send(&format!("connect quinn {}", common::PASSWORD))
        .await;
    tess.expect("Players here:").await;
}
