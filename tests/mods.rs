//! The shipped mods in the real binary: a mod's command from telnet and
//! from the QUIC client, and `/status` listing the mods.

mod common;

use std::time::Duration;

use common::{Telnet, World};
use gsp_client::{parse_fingerprint, Client, Trust};
use gsp_protocol::ServerMessage;

fn shipped_mods() -> String {
    format!("{}/mods", env!("CARGO_MANIFEST_DIR"))
}

/// Waits up to 10 s for a stream event whose text contains `needle`.
async fn expect_text(client: &mut Client, needle: &str) -> String {
    let wait = async {
        loop {
            match client.next_event().await {
                Some(Ok(ServerMessage::Event { text, .. })) if text.contains(needle) => {
                    return text
                }
                Some(Ok(_)) => {}
                other => panic!("stream ended waiting for {needle:?}: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {needle:?}"))
}

#[tokio::test]
async fn a_mod_command_works_from_telnet_and_from_the_quic_client() {
    let mods = shipped_mods();
    let world = World::start(&["--mods", &mods]);
    let mut ada = Telnet::login(world.telnet, "ada").await;
    ada.expect("Old Tom says, \"Welcome to town, ada!").await;
    ada.send("help").await;
    ada.expect("kick [direction]").await;
    ada.send("score").await;
    ada.expect("No goals yet").await;

    let trust = Trust::Fingerprint(parse_fingerprint(&world.fingerprint).unwrap());
    let mut bob = Client::connect(world.quic, "bob", &trust).await.unwrap();
    bob.command("rooms").await.unwrap();
    let text = expect_text(&mut bob, "The town:").await;
    assert!(text.contains("The Prancing Pony"), "{text}");
    bob.command("kick north").await.unwrap();
    expect_text(&mut bob, "You kick the ball north.").await;
    // The text player in the plaza reads what the graphical player did.
    ada.expect("bob kicks the ball north.").await;

    let status = world.status();
    let mods: Vec<(String, String)> = status["mods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        mods,
        [
            ("core".to_owned(), "running".to_owned()),
            ("doors".to_owned(), "running".to_owned()),
            ("football".to_owned(), "running".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_broken_mod_is_listed_with_its_error_and_the_world_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("broken");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("mod.toml"), "name = \"broken\"\nversion = \"0.1\"\n").unwrap();
    std::fs::write(m.join("init.lua"), "local t = nil\nprint(t.x)\n").unwrap();
    let world = World::start(&["--mods", dir.path().to_str().unwrap()]);
    let status = world.status();
    let broken = &status["mods"][0];
    assert_eq!(broken["state"], "failed");
    let error = broken["last_error"].as_str().unwrap();
    assert!(error.contains("broken/init.lua:2"), "{error}");
    let mut ada = Telnet::login(world.telnet, "ada").await;
    ada.send("say still here").await;
    ada.expect("You say, \"still here\"").await;
}
