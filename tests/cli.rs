//! The command line: help, listeners, HTTP endpoints, clean shutdown.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{gsp_bin, spawn_server, stdout_until, World};

#[test]
fn every_subcommand_explains_itself() {
    for args in [
        &["--help"][..],
        &["world", "--help"],
        &["up", "--help"],
        &["bot", "--help"],
        &["play", "--help"],
    ] {
        let out = Command::new(gsp_bin()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
    let out = Command::new(gsp_bin())
        .args(["world", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--telnet",
        "--quic",
        "--http",
        "--tick-hz",
        "--data",
        "--cert",
        "--key",
    ] {
        assert!(text.contains(flag), "world --help lacks {flag}");
    }
}

#[test]
fn health_status_and_metrics() {
    let world = World::start(&["--tick-hz", "20"]);
    std::thread::sleep(Duration::from_millis(500));
    let (code, body) = world.get("/health");
    assert_eq!((code, body.trim()), (200, "ok"));
    let status = world.status();
    assert_eq!(status["tick_rate"], 20);
    assert!(status["tick"].as_u64().unwrap() > 0);
    assert!(status["tick_ms"]["p50"].as_f64().is_some());
    assert!(status["tick_ms"]["p99"].as_f64().is_some());
    assert_eq!(status["players"]["total"], 0);
    let (code, metrics) = world.get("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("# TYPE gsp_world_ticks counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gsp_world_tick_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gsp_world_players{gateway=\"telnet\"} 0"),
        "{metrics}"
    );
    assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");
    let (code, _) = world.get("/nope");
    assert_eq!(code, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_says_goodbye_and_exits_cleanly() {
    let mut world = World::start(&[]);
    let mut ada = common::Telnet::login(world.telnet, "ada").await;
    let status = tokio::task::block_in_place(|| world.terminate(Duration::from_secs(10)));
    assert!(status.success(), "{status:?}");
    let bye = ada.expect_closed(Duration::from_secs(5)).await;
    assert!(bye.contains("shutting down"), "{bye}");
}

#[test]
fn certificate_is_kept_across_restarts_and_bad_flags_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cert_after_a_start = || {
        let mut child = spawn_server("world", dir.path(), &[]);
        // The fingerprint line is the last of the startup lines.
        let lines = stdout_until(&mut child, "quic certificate");
        assert_eq!(lines.len(), 3, "{lines:?}");
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::read(dir.path().join("quic-cert.pem")).unwrap()
    };
    let made = cert_after_a_start();
    assert_eq!(made, cert_after_a_start(), "the certificate was made again");

    // The same pair, supplied by the operator to a world with another data dir.
    let other = tempfile::tempdir().unwrap();
    let supplied = World::start_in(
        other.path(),
        &[
            "--cert",
            dir.path().join("quic-cert.pem").to_str().unwrap(),
            "--key",
            dir.path().join("quic-key.pem").to_str().unwrap(),
        ],
    );
    let first = World::start_in(dir.path(), &[]);
    assert_eq!(supplied.fingerprint, first.fingerprint);
    assert!(!other.path().join("quic-cert.pem").exists());

    let out = Command::new(gsp_bin())
        .args(["world", "--tick-hz", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(gsp_bin())
        .args(["world", "--cert", "only.pem"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key"));
    let out = Command::new(gsp_bin())
        .args(["world", "--view-radius=-5", "--data"])
        .arg(other.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("view radius"), "{stderr}");
}

#[test]
fn up_runs_the_platform_and_the_default_world_behind_its_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_server("up", dir.path(), &[]);
    let lines = stdout_until(&mut child, "Stop with");
    let text = lines.join("\n");
    let addr = |name: &str| -> std::net::SocketAddr {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("listening {name}=")))
            .unwrap_or_else(|| panic!("no {name} listener: {text}"))
            .parse()
            .unwrap()
    };
    let (http, telnet, quic) = (addr("http"), addr("telnet"), addr("quic"));
    assert_eq!(telnet.ip().to_string(), "127.0.0.1");
    assert!(quic.port() != 0);
    assert!(
        text.contains(&format!("dashboard http://{http}/")),
        "{text}"
    );
    let password = dir.path().join("admin-password");
    assert!(
        text.contains(&format!(
            "sign in as admin@gsp.localhost with the password in {}",
            password.display()
        )),
        "{text}"
    );
    assert!(std::fs::read_to_string(&password).unwrap().trim().len() >= 16);
    assert!(
        text.contains(&format!("telnet 127.0.0.1 {}", telnet.port())),
        "{text}"
    );
    assert!(
        text.contains(&format!("gsp bot --server {quic} --pin ")),
        "{text}"
    );
    // Graphical players are shown `gsp play` with the pin, which is the
    // world's certificate: a client trusting only it is let in.
    let play = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("graphical: "))
        .unwrap_or_else(|| panic!("no graphical line: {text}"));
    let words: Vec<&str> = play.split_whitespace().collect();
    assert_eq!(
        &words[..4],
        ["gsp", "play", "--server", &quic.to_string()],
        "{play}"
    );
    assert_eq!(words[4], "--pin", "{play}");
    let pin = gsp_client::parse_fingerprint(words[5]).expect("a SHA-256 pin");

    // The dashboard answers, and the world answers through its proxy.
    let (status, _) = common::http_get(http, "/signin");
    assert_eq!(status, 200);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut t = common::Telnet::connect(telnet).await;
        t.expect("name").await;
        let player =
            gsp_client::Client::connect(quic, "pinned", &gsp_client::Trust::Fingerprint(pin))
                .await
                .expect("the printed pin lets a graphical player in");
        player.close();
    });

    // Ctrl-C stops everything: the world saves first.
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        std::net::TcpStream::connect(telnet).is_err(),
        "the proxy stopped"
    );
    assert!(dir.path().join("servers/1/data/gsp.db").exists());
}
