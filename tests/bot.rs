//! `gsp bot` against a world: many graphical players at once.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{gsp_bin, World};

#[test]
fn fifty_bots_connect_receive_state_and_the_world_keeps_its_tick_rate() {
    let world = World::start(&[]);
    // The mods' own things (Old Tom, the door, the ball, the goal), once
    // the first ticks have counted them.
    std::thread::sleep(Duration::from_millis(300));
    let before = world.status()["entities"].as_u64().unwrap();
    let output = Command::new(gsp_bin())
        .args(["bot", "--server", &world.quic.to_string()])
        .args(["--pin", &world.fingerprint])
        .args(["--count", "50", "--duration", "4", "--json"])
        .output()
        .expect("run gsp bot");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "gsp bot failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(report["connected"], 50, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["without_state"], 0, "{report}");
    // Every bot saw a steady stream of state: at least half the tick rate
    // over its whole session (the world sends one per tick).
    assert!(
        report["min_states_per_sec"].as_f64().unwrap() >= 15.0,
        "{report}"
    );
    assert!(report["events_received"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["snapshot_errors"], 0, "{report}");
    // Every bot sees the others near it, and predicts its own walk: most
    // reconciliations agree with the server, walls aside.
    assert!(
        report["entities_in_view"].as_f64().unwrap() > 10.0,
        "{report}"
    );
    assert!(
        report["predictions_checked"].as_u64().unwrap() > 1000,
        "{report}"
    );
    assert!(
        report["prediction_error_mean_m"].as_f64().unwrap() < 0.2,
        "{report}"
    );
    assert!(report["rtt_ms_p50"].as_f64().unwrap() > 0.0, "{report}");

    let status = world.status();
    assert_eq!(
        status["skipped_ticks"], 0,
        "the world fell behind: {status}"
    );
    let rate = status["measured_tick_rate"].as_f64().unwrap();
    assert!((27.0..=33.0).contains(&rate), "tick rate {rate}: {status}");
    // The bots have left, and their avatars with them.
    std::thread::sleep(Duration::from_millis(300));
    let status = world.status();
    assert_eq!(status["players"]["quic"], 0, "{status}");
    assert_eq!(status["entities"], before, "{status}");
}

#[test]
fn bot_refuses_to_guess_about_trust() {
    let output = Command::new(gsp_bin())
        .args(["bot", "--server", "127.0.0.1:9", "--count", "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--pin") && stderr.contains("--insecure"),
        "{stderr}"
    );
}

#[test]
fn telnet_bots_log_in_talk_and_a_crowd_stays_in_the_start_room() {
    let world = World::start(&[]);
    let output = Command::new(gsp_bin())
        .args(["bot", "--server", &world.quic.to_string()])
        .args(["--pin", &world.fingerprint])
        .args(["--count", "6", "--telnet", "4"])
        .args(["--telnet-server", &world.telnet.to_string()])
        .args(["--crowd", "--talkers", "0.5", "--talk-every", "0.5"])
        .args(["--duration", "4", "--json"])
        .output()
        .expect("run gsp bot");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "gsp bot failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(report["connected"], 6, "{report}");
    assert_eq!(report["telnet_connected"], 4, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    // Talkers talked, and the telnet bots heard the room.
    assert!(report["telnet_said"].as_u64().unwrap() > 0, "{report}");
    assert!(
        report["telnet_lines_per_sec"].as_f64().unwrap() > 1.0,
        "{report}"
    );
    // The swarm reports on itself.
    assert!(report["saturated"].is_boolean(), "{report}");
    assert!(
        report["swarm_cpu_percent"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    let status = world.status();
    assert_eq!(status["slow_disconnects"], 0, "{status}");
}
