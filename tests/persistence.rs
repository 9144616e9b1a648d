//! Persistence against the real binary: accounts and characters over
//! telnet, world saves that survive SIGKILL, on SQLite and PostgreSQL, and
//! two worlds sharing chat and presence over Redis.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Telnet, World};
use gsp_persistence::WorldStore;
use gsp_store::testing::TestDb;

use common::PASSWORD;

/// Logs `name` in with the one-line form (`create` or `connect`) and waits
/// for the first room; returns the player and the room text.
async fn enter(world: &World, verb: &str, name: &str) -> (Telnet, String) {
    let mut t = Telnet::connect(world.telnet).await;
    t.expect("name").await;
    t.send(&format!("{verb} {name} {PASSWORD}")).await;
    let room = t.expect("Players here:").await;
    (t, room)
}

async fn walk_to_the_tavern_and_leave(world: &World) {
    let (mut ada, room) = enter(world, "create", "ada").await;
    assert!(room.contains("The Plaza"), "{room}");
    ada.send("n").await;
    ada.expect("The Prancing Pony").await;
    ada.send("quit").await;
    ada.expect_closed(Duration::from_secs(5)).await;
}

async fn character_survives_logout_and_restart(data: &Path, extra: &[&str]) {
    let mut world = World::start_in(data, extra);
    walk_to_the_tavern_and_leave(&world).await;

    // Log out and in again: back in the tavern.
    let (mut ada, room) = enter(&world, "connect", "ada").await;
    assert!(room.contains("The Prancing Pony"), "{room}");

    // Go down to the cellar and stay online while the world stops: its
    // last save keeps the characters of the players online.
    ada.send("d").await;
    ada.expect("The Tavern Cellar").await;
    assert!(world.terminate(Duration::from_secs(20)).success());
    let world = World::start_in(data, extra);
    let (_ada, room) = enter(&world, "connect", "ada").await;
    assert!(room.contains("The Tavern Cellar"), "{room}");

    // A wrong password is refused.
    let mut eve = Telnet::connect(world.telnet).await;
    eve.expect("name").await;
    eve.send("connect ada not-the-password").await;
    eve.expect("wrong name or password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_character_is_where_it_was_left_after_logout_and_restart_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    character_survives_logout_and_restart(dir.path(), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_character_is_where_it_was_left_after_logout_and_restart_postgres() {
    let Some(db) = TestDb::postgres_with(&gsp_persistence::db::MIGRATOR).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    character_survives_logout_and_restart(dir.path(), &["--database-url", db.url()]).await;
}

/// A mod that writes the tick into 50 persistent crates and its storage
/// every tick: a save is complete only if all 51 stamps agree.
const STAMPER: &str = r#"
local crates = {}
for i = 1, 50 do
    crates[i] = gsp.spawn("crate", { x = (i % 10) * 2 - 9, y = 0.5, z = 30 + (i // 10) * 2 }, { key = "c" .. i })
end
gsp.on("tick", function()
    local t = gsp.tick()
    for i = 1, 50 do
        crates[i]:set("stamp", t)
    end
    gsp.storage.stamp = t
end)
"#;

fn stamper_mods() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("stamper");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("mod.toml"),
        "name = \"stamper\"\nversion = \"0.1.0\"\npermissions = [\"entities\"]\n",
    )
    .unwrap();
    std::fs::write(m.join("init.lua"), STAMPER).unwrap();
    dir
}

/// Loads the last save and checks that it is one whole generation: 50
/// crates and the storage all carrying the same stamp. Returns (generation, stamp).
async fn check_complete(store: &WorldStore) -> (u64, i64) {
    let saved = store.load().await.expect("load the last save");
    let stamps: Vec<i64> = saved
        .entities
        .iter()
        .filter(|e| e.key.starts_with("stamper:"))
        .map(|e| e.attributes["stamp"].as_i64().expect("a stamp"))
        .collect();
    assert_eq!(
        stamps.len(),
        50,
        "generation {}: {} crates",
        saved.generation,
        stamps.len()
    );
    let storage = saved
        .mod_storage
        .iter()
        .find(|(m, _)| m == "stamper")
        .map(|(_, s)| s["stamp"].as_i64().expect("storage stamp"))
        .expect("the mod's storage is saved");
    assert!(
        stamps.iter().all(|&s| s == storage),
        "a torn save in generation {}: storage {storage}, crates {stamps:?}",
        saved.generation
    );
    (saved.generation, storage)
}

async fn survives_sigkill(data: &Path, database_url: Option<&str>) {
    let mods = stamper_mods();
    let mut args = vec![
        "--mods".to_owned(),
        mods.path().display().to_string(),
        "--save-interval".into(),
        "0.05".into(),
        // Spawning 50 crates at load can pass the default 5 ms on a busy
        // machine running a debug build; this test is not about budgets.
        "--mod-cpu-ms".into(),
        "1000".into(),
    ];
    if let Some(url) = database_url {
        args.extend(["--database-url".into(), url.into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let db = match database_url {
        Some(url) => gsp_persistence::db::connect(url).await.unwrap(),
        None => gsp_persistence::db::open_data_dir(data).await.unwrap(),
    };
    let store = WorldStore::new(db, "default");
    let mut last = (0u64, -1i64);
    for round in 0..3 {
        let mut world = World::start_in(data, &args);
        // Wait for this life to have saved at least twice, then kill it at
        // a moment that lands anywhere in the save cycle.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let generation = store.load().await.unwrap().generation;
            if generation >= last.0 + 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: no saves (generation {generation})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..120))).await;
        world.kill();
        let now = check_complete(&store).await;
        assert!(now.0 > last.0, "generations go on: {last:?} then {now:?}");
        last = now;
    }
    // One more life restores the crates instead of spawning new ones.
    let world = World::start_in(data, &args);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = world.status();
        if status["saves"]["generation"].as_u64() > Some(last.0) {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "/status shows no new save: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status["entities"], 50, "{status}");
    let backend = if database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(status["saves"]["database"], backend, "{status}");
    assert_eq!(status["saves"]["failures"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_killed_during_saves_restarts_from_the_last_complete_generation_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    survives_sigkill(dir.path(), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_killed_during_saves_restarts_from_the_last_complete_generation_postgres() {
    let Some(db) = TestDb::postgres_with(&gsp_persistence::db::MIGRATOR).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    survives_sigkill(dir.path(), Some(db.url())).await;
}

/// Redis on 127.0.0.1:6379, or None (and a skip line) when it is absent
/// outside CI.
fn redis_url() -> Option<String> {
    let url =
        std::env::var("GSP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reachable = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_ok();
    if reachable {
        return Some(url);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Redis is not reachable at 127.0.0.1:6379 (required under CI=true)");
    }
    eprintln!("skipping: Redis is not reachable at 127.0.0.1:6379");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worlds_on_one_redis_share_chat_and_who_all() {
    let Some(url) = redis_url() else { return };
    let channel = format!("gsp:test:{}", fastrand::u64(..));
    let start = |name: &str| {
        World::start(&[
            "--world-name",
            name,
            "--redis-url",
            &url,
            "--bus-channel",
            &channel,
        ])
    };
    let east = start("east");
    let west = start("west");
    for world in [&east, &west] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = world.status();
            if status["bus"]["connected"] == true {
                assert_eq!(status["bus"]["backend"], "redis", "{status}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the bus never connected: {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (mut ada, _) = enter(&east, "create", "ada").await;
    let (mut bob, _) = enter(&west, "create", "bob").await;

    // Chat crosses worlds; each player reads it once.
    bob.send("chat hello from the west").await;
    ada.expect("[public] bob@west: hello from the west").await;
    bob.expect("[public] bob: hello from the west").await;
    ada.send("chat trade anyone selling rope?").await;
    bob.expect("[trade] ada@east: anyone selling rope?").await;

    // Presence: who all lists both worlds (presence may take a moment).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        ada.send("who all").await;
        let who = ada.expect("world").await + &ada.drain(Duration::from_millis(300)).await;
        if who.contains("bob") {
            assert!(who.contains("east (here)") && who.contains("ada"), "{who}");
            assert!(who.contains("west"), "{who}");
            break;
        }
        assert!(Instant::now() < deadline, "west never appeared: {who}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let twice = ada.drain(Duration::from_millis(500)).await;
    assert!(
        !twice.contains("hello from the west"),
        "chat delivered twice: {twice}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_login_takes_over_and_failed_logins_are_throttled() {
    let world = World::start(&[]);
    let (mut first, _) = enter(&world, "create", "ada").await;
    first.send("n").await;
    first.expect("The Prancing Pony").await;

    // The same account again: the old connection is told and closed, the
    // new one goes on where the character stands.
    let (mut second, room) = enter(&world, "connect", "ada").await;
    assert!(room.contains("The Prancing Pony"), "{room}");
    let bye = first.expect_closed(Duration::from_secs(5)).await;
    assert!(bye.contains("Someone else has logged in as you"), "{bye}");
    second.send("who").await;
    let who = second.expect("online:").await;
    assert!(who.contains("1 player online"), "{who}");

    // Wrong passwords, again and again: the account is locked for a while,
    // even for the right password.
    let mut eve = Telnet::connect(world.telnet).await;
    eve.expect("What is your name?").await;
    let mut throttled = false;
    for _ in 0..8 {
        eve.send("connect ada wrong-password").await;
        let answer = eve.expect("name?").await;
        if answer.contains("too many failed attempts") {
            throttled = true;
            break;
        }
        assert!(answer.contains("wrong name or password"), "{answer}");
    }
    assert!(throttled, "no throttling after repeated failures");
    eve.send(&format!("connect ada {PASSWORD}")).await;
    eve.expect("too many failed attempts").await;
}
