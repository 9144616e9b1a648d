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

#[tokio::test]
async fn tells_emotes_poses_help_topics_and_who_with_idle_times() {
    let world = World::start(&[]);
    let (mut ada, mut bob) = ada_and_bob(&world).await;

    ada.send("tell BOB meet me at the pony").await;
    bob.expect("ada tells you, \"meet me at the pony\"").await;
    ada.expect("You tell bob, \"meet me at the pony\"").await;
    ada.send("tell nobody hi").await;
    ada.expect("Nobody called nobody is in this world.").await;
    ada.send("tell bob").await;
    ada.expect("Tell whom what?").await;

    bob.send(":waves.").await;
    ada.expect("bob waves.").await;
    bob.expect("bob waves.").await;
    bob.send("emote grins").await;
    ada.expect("bob grins").await;
    bob.send("pose leans on the fountain").await;
    ada.expect("bob leans on the fountain").await;

    ada.send("help").await;
    ada.expect("tell <name> <text>").await;
    ada.send("help topics").await;
    let topics = ada.expect("Type 'help <topic>'.").await;
    assert!(
        topics.contains("movement") && topics.contains("color"),
        "{topics}"
    );
    ada.send("help colour").await;
    ada.expect("config color off").await;
    ada.send("help nonsense").await;
    ada.expect("There is no help on 'nonsense'").await;

    tokio::time::sleep(Duration::from_millis(1100)).await;
    bob.send("who").await;
    let who = bob.expect("players online:").await;
    assert!(who.contains("2 players"), "{who}");
    let all = bob.drain(Duration::from_millis(500)).await;
    assert!(all.contains("Name") && all.contains("Idle"), "{all}");
    let ada_row = all
        .lines()
        .find(|l| l.trim_start().starts_with("ada "))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(
        ada_row.contains("telnet") && ada_row.contains("s  The Plaza"),
        "{ada_row}"
    );
    assert!(!ada_row.contains(" 0s "), "ada has been idle: {ada_row}");
}

#[tokio::test]
async fn channels_can_be_left_and_joined_again() {
    let world = World::start(&[]);
    let (mut ada, mut bob) = ada_and_bob(&world).await;
    bob.send("channels leave public").await;
    bob.expect("You no longer hear [public]").await;
    bob.send("channels").await;
    let list = bob.expect("starts again.").await;
    assert!(list.contains("(left)"), "{list}");
    bob.send("channels leave nowhere").await;
    bob.expect("There is no channel 'nowhere'").await;

    ada.send("chat first").await;
    ada.expect("[public] ada: first").await;
    bob.send("say marker").await;
    let heard = bob.expect("You say, \"marker\"").await;
    assert!(!heard.contains("first"), "bob left public: {heard}");

    // Leaving is kept with the character.
    bob.send("channels leave trade").await;
    bob.expect("You no longer hear [trade]").await;
    bob.send("quit").await;
    bob.expect_closed(Duration::from_secs(5)).await;
    let mut bob = Telnet::connect(world.telnet).await;
    bob.expect("name").await;
    bob.send(&format!("connect bob {}", common::PASSWORD)).await;
    bob.expect("Players here:").await;
    bob.send("channels").await;
    let list = bob.expect("starts again.").await;
    let line = |name: &str| {
        list.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{list}"))
            .to_owned()
    };
    assert!(line("trade").contains("(left)"), "{list}");
    assert!(line("public").contains("(left)"), "{list}");

    bob.send("channels join public").await;
    bob.expect("You hear [public] again.").await;
    ada.send("chat second").await;
    bob.expect("[public] ada: second").await;
}

#[tokio::test]
async fn the_colour_setting_is_kept_with_the_character() {
    let world = World::start(&[]);
    let mut ada = Telnet::login(world.telnet, "ada").await;
    ada.send("config color 256").await;
    ada.expect("Colour: 256, kept with your character.").await;
    ada.send("look").await;
    ada.expect("Players here:").await;
    assert!(
        String::from_utf8_lossy(&ada.raw).contains("\x1b[1;38;5;45mThe Plaza"),
        "256-colour title"
    );
    ada.send("config color off").await;
    ada.expect("kept with your character.").await;
    ada.raw.clear();
    ada.send("look").await;
    ada.expect("Players here:").await;
    assert!(!ada.raw.contains(&0x1b), "no colour codes once off");
    ada.send("config color purple").await;
    ada.expect("Try 'config color off'").await;
    ada.send("config").await;
    let shown = ada.expect("Change with").await;
    assert!(shown.contains("Colour: off"), "{shown}");
    ada.send("quit").await;
    ada.expect_closed(Duration::from_secs(5)).await;

    // Back again: still off, from the character.
    let mut again = Telnet::connect(world.telnet).await;
    again.expect("name").await;
    again.raw.clear();
    again
        .send(&format!("connect ada {}", common::PASSWORD))
        .await;
    again.expect("Players here:").await;
    assert!(!again.raw.contains(&0x1b), "the setting came back with ada");
    again.send("config color auto").await;
    again.expect("Colour: auto").await;
    again.send("look").await;
    again.expect("Players here:").await;
    assert!(String::from_utf8_lossy(&again.raw).contains("\x1b[1;36mThe Plaza"));
}
