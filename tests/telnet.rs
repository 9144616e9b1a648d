//! Text players over telnet, against the real binary.

mod common;

use std::time::Duration;

use common::{Telnet, World};

/// ada and bob, logged in, in the Plaza; ada has seen bob arrive.
async fn ada_and_bob(world: &World) -> (Telnet, Telnet) {
    let mut ada = Telnet::login(world.telnet, "ada").await;
    let bob = Telnet::login(world.telnet, "bob").await;
    ada.expect("bob enters the world.").await;
    (ada, bob)
}

#[tokio::test]
async fn two_telnet_players_hear_each_other_and_look_lists_both() {
    let world = World::start(&[]);
    let (mut ada, mut bob) = ada_and_bob(&world).await;

    ada.send("say hello, bob").await;
    bob.expect("ada says, \"hello, bob\"").await;
    ada.expect("You say, \"hello, bob\"").await;

    bob.send("'hi ada").await;
    ada.expect("bob says, \"hi ada\"").await;

    ada.send("look").await;
    let room = ada.expect("Players here: ada (you), bob.").await;
    assert!(room.contains("The Plaza"), "{room}");
    assert!(room.contains("Exits: north, east, south."), "{room}");

    bob.send("who").await;
    let who = bob.expect("online:").await;
    assert!(who.contains("2 players"), "{who}");
}

#[tokio::test]
async fn room_titles_are_in_ansi_colour_and_movement_is_announced() {
    let world = World::start(&[]);
    let (mut ada, mut bob) = ada_and_bob(&world).await;
    assert!(
        String::from_utf8_lossy(&ada.raw).contains("\x1b[1;36mThe Plaza\x1b[0m"),
        "room title should be coloured"
    );

    bob.send("n").await;
    ada.expect("bob leaves north.").await;
    bob.expect("The Prancing Pony").await;
    bob.send("go down").await;
    bob.expect("The Tavern Cellar").await;
    bob.send("up").await;
    bob.expect("The Prancing Pony").await;
    bob.send("s").await;
    ada.expect("bob arrives from the north.").await;

    bob.send("west").await;
    bob.expect("You cannot go west from here.").await;
    bob.send("dance").await;
    bob.expect("Unknown command 'dance'").await;
    bob.send("help").await;
    bob.expect("quit").await;

    bob.send("quit").await;
    let bye = bob.expect_closed(Duration::from_secs(5)).await;
    assert!(bye.contains("Goodbye."), "{bye}");
    ada.expect("bob leaves the world.").await;
}

#[tokio::test]
async fn names_are_checked_and_unique() {
    let world = World::start(&[]);
    let _ada = Telnet::login(world.telnet, "ada").await;
    let mut t = Telnet::connect(world.telnet).await;
    t.expect("name").await;
    t.send("x").await;
    t.expect("names are 2 to 16 letters").await;
    t.send(&format!("create ADA {}", common::PASSWORD)).await;
    t.expect("that name is already taken").await;
    t.send(&format!("create carol {}", common::PASSWORD)).await;
    t.expect("Players here: carol (you), ada.").await;
}

#[tokio::test]
async fn telnet_negotiation_is_refused_politely_without_loops() {
    use gsp_gateways::telnet::protocol::cmd::{DO, DONT, IAC, WILL, WONT};
    let world = World::start(&[]);
    let mut t = Telnet::connect(world.telnet).await;
    t.expect("name").await;
    t.raw.clear();
    // Unknown options both ways, then the same again (must not be answered
    // twice for the refusals to stay loop-free), then "already off" notices.
    t.send_raw(&[IAC, DO, 200, IAC, WILL, 201]).await;
    t.send_raw(&[IAC, DONT, 200, IAC, WONT, 201]).await;
    t.send(&format!("create ada {}", common::PASSWORD)).await;
    t.expect("Players here:").await;
    let raw = t.raw.clone();
    let count = |seq: &[u8]| raw.windows(seq.len()).filter(|w| *w == seq).count();
    assert_eq!(count(&[IAC, WONT, 200]), 1, "DO unknown -> one WONT");
    assert_eq!(count(&[IAC, DONT, 201]), 1, "WILL unknown -> one DONT");
}

#[tokio::test]
async fn bad_input_answers_only_the_offender_and_the_world_keeps_ticking() {
    let world = World::start(&[]);
    let (mut ada, mut bob) = ada_and_bob(&world).await;

    // An over-long line gets an error message, and the connection goes on.
    let long = "x".repeat(5000);
    bob.send(&long).await;
    bob.expect("too long").await;
    bob.send("say still here").await;
    ada.expect("bob says, \"still here\"").await;

    // Raw IAC noise: malformed subnegotiations, stray commands, IAC IAC.
    let mut noise = Vec::new();
    for i in 0..2000u32 {
        noise.extend_from_slice(&[255, (i % 16) as u8 + 240, (i * 7 % 256) as u8]);
    }
    noise.extend_from_slice(&[255, 250, 24, 1, 2, 3]); // an unterminated SB
    noise.extend_from_slice(&[255, 240, b'\r', b'\n']);
    bob.send_raw(&noise).await;
    bob.send("say after the noise").await;
    ada.expect("bob says, \"after the noise\"").await;

    // UTF-8 passes through intact.
    ada.send("say héllo wörld ✓").await;
    bob.expect("ada says, \"héllo wörld ✓\"").await;

    let tick_before = world.status()["tick"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = world.status();
    assert!(status["tick"].as_u64().unwrap() > tick_before, "{status}");
    assert_eq!(status["players"]["telnet"], 2, "{status}");
    assert_eq!(world.get("/health").0, 200);
}

#[tokio::test]
async fn idle_players_are_disconnected() {
    let world = World::start(&["--idle-timeout", "1"]);
    let mut ada = Telnet::login(world.telnet, "ada").await;
    let bye = ada.expect_closed(Duration::from_secs(5)).await;
    assert!(bye.contains("idle"), "{bye}");
}
