//! Hosting end to end with the real binaries and the process runtime:
//! `gsp platform` and `gsp agent` as separate processes, a server made
//! through the API, played over telnet through its wake proxy, hibernated
//! when idle, woken by the next player with its state intact, backed up
//! and restored, billed only while it ran, deleted. And tokens: neither side takes a wrong one.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{gsp_bin, http_request, platform_admin, Telnet, PASSWORD};
use serde_json::{json, Value};

/// A `gsp` process whose stdout is read line by line; killed on drop.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(args: &[&str], data: &Path) -> Proc {
        let mut child = Command::new(gsp_bin())
            .args(args)
            .arg("--data")
            .arg(data)
            .env("RUST_LOG", "warn,gsp_platform=info")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn gsp");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines }
    }

    /// The address of its `listening NAME=` line.
    fn listening(&self, name: &str) -> SocketAddr {
        let prefix = format!("listening {name}=");
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no {prefix} line"));
            if let Some(addr) = line.strip_prefix(&prefix) {
                return addr.parse().unwrap();
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Api {
    http: SocketAddr,
    bearer: String,
}

impl Api {
    fn call(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let (status, text) = http_request(
            self.http,
            method,
            path,
            &[("Authorization", &self.bearer)],
            &body,
        );
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, value)
    }

    fn server(&self, id: i64) -> Value {
        let (status, server) = self.call("GET", &format!("/api/servers/{id}"), &Value::Null);
        assert_eq!(status, 200, "{server}");
        server
    }

    /// Waits (up to `within`) for server `id` to be in `state`.
    fn wait_state(&self, id: i64, state: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let server = self.server(id);
            if server["state"] == state {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "server {id} never {state}: {server}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn mods_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("mods")
        .display()
        .to_string()
}

/// The platform with an admin, credits and an API key; a node token.
fn platform(dir: &Path) -> (Proc, Api, String) {
    let data = dir.join("platform");
    platform_admin(
        &data,
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--password",
            "correct horse",
            "--admin",
        ],
    );
    let key = platform_admin(&data, &["apikey", "create", "--email", "root@example.com"]);
    let node_token = platform_admin(&data, &["node", "create", "--name", "node-1"]);
    assert!(node_token.starts_with("gsp_nt_"), "{node_token}");
    let proc = Proc::spawn(&["platform", "--http", "127.0.0.1:0"], &data);
    let http = proc.listening("http");
    let api = Api {
        http,
        bearer: format!("Bearer {key}"),
    };
    let (status, me) = api.call("GET", "/api/me", &Value::Null);
    assert_eq!(status, 200, "{me}");
    let (status, granted) = api.call(
        "POST",
        "/api/admin/credits",
        &json!({"user_id": me["id"], "amount_millis": 10_000, "request_id": "e2e", "memo": "test"}),
    );
    assert!(status == 200 || status == 201, "{status} {granted}");
    (proc, api, node_token)
}

fn agent(dir: &Path, platform: SocketAddr, token: &str) -> (Proc, SocketAddr) {
    let url = format!("http://{platform}");
    let proc = Proc::spawn(
        &[
            "agent",
            "--platform",
            &url,
            "--token",
            token,
            "--http",
            "127.0.0.1:0",
            "--public-ip",
            "127.0.0.1",
            "--telnet-ports",
            "0",
            "--quic-ports",
            "0",
            "--heartbeat",
            "0.5",
            "--stop-grace",
            "20",
        ],
        &dir.join("agent"),
    );
    let http = proc.listening("http");
    (proc, http)
}

/// Creates a server, retrying while the agent has not registered yet.
fn create_server(api: &Api, template: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, server) = api.call(
            "POST",
            "/api/servers",
            &json!({"template_id": template, "name": "town"}),
        );
        if status == 201 {
            return server;
        }
        assert_eq!(status, 409, "{server}");
        assert!(
            Instant::now() < deadline,
            "no node took the server: {server}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn telnet_endpoint(server: &Value) -> SocketAddr {
    server["endpoints"]["telnet"]
        .as_str()
        .unwrap_or_else(|| panic!("no telnet endpoint: {server}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_play_hibernate_wake_and_bill_only_running_time() {
    let dir = tempfile::tempdir().unwrap();
    let (_platform, api, token) = platform(dir.path());
    let (_agent, _agent_http) = agent(dir.path(), api.http, &token);

    let (status, template) = api.call(
        "POST",
        "/api/admin/templates",
        &json!({
            "name": "world", "runtime": "command",
            "launch": format!("gsp world --mods '{}'", mods_dir()),
            "ports": [{"name": "telnet", "protocol": "tcp"}, {"name": "quic", "protocol": "udp"}],
            "cpu_millis": 500, "memory_mib": 256, "price_per_hour": 1500,
            "idle_seconds": 2
        }),
    );
    assert_eq!(status, 201, "{template}");
    assert_eq!(template["idle_seconds"], 2);
    let server = create_server(&api, template["id"].as_i64().unwrap());
    let id = server["id"].as_i64().unwrap();
    assert_eq!(server["state"], "running");
    let telnet = telnet_endpoint(&api.server(id));
    assert!(api.server(id)["endpoints"]["quic"].is_string());

    // Play: create a character and walk to the tavern, then leave.
    let mut ada = Telnet::connect(telnet).await;
    ada.expect("name").await;
    ada.send(&format!("create ada {PASSWORD}")).await;
    let room = ada.expect("Players here:").await;
    assert!(room.contains("The Plaza"), "{room}");
    let (status, stats) = api.call("GET", &format!("/api/servers/{id}/stats"), &Value::Null);
    assert_eq!(status, 200);
    assert_eq!(stats["running"], true, "{stats}");
    ada.send("n").await;
    ada.expect("The Prancing Pony").await;
    ada.send("quit").await;
    ada.expect_closed(Duration::from_secs(5)).await;

    // Nobody plays: after its idle time the server hibernates (its world
    // saves and stops).
    api.wait_state(id, "hibernated", Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, stats) = api.call("GET", &format!("/api/servers/{id}/stats"), &Value::Null);
        if stats["running"] == false {
            break;
        }
        assert!(Instant::now() < deadline, "the world still runs: {stats}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, logs) = api.call("GET", &format!("/api/servers/{id}/logs"), &Value::Null);
    let logs: Vec<String> = serde_json::from_value(logs).unwrap();
    assert!(
        logs.iter().any(|l| l.contains("world saved")),
        "the world saved before it stopped: {logs:?}"
    );

    // The next player wakes it through the same address, and finds the
    // character where it was left.
    let mut ada = Telnet::connect(telnet).await;
    ada.expect("waking up").await;
    ada.expect_within("name", Duration::from_secs(30)).await;
    ada.send(&format!("connect ada {PASSWORD}")).await;
    let room = ada.expect("Players here:").await;
    assert!(room.contains("The Prancing Pony"), "{room}");
    assert_eq!(api.server(id)["state"], "running");

    // A backup of the running world (its save from the hibernation has Ada
    // in the tavern); then she walks out to the plaza and leaves.
    let (status, backup) = api.call("POST", &format!("/api/servers/{id}/backup"), &Value::Null);
    assert_eq!(status, 201, "{backup}");
    let (status, backups) = api.call("GET", &format!("/api/servers/{id}/backups"), &Value::Null);
    assert_eq!(status, 200);
    assert_eq!(backups[0]["name"], backup["name"], "{backups}");
    ada.send("s").await;
    ada.expect("The Plaza").await;
    ada.send("quit").await;
    ada.expect_closed(Duration::from_secs(5)).await;

    // A restore puts the world back to the backup and leaves it asleep;
    // the next player wakes it and finds Ada in the tavern again.
    let (status, restored) = api.call(
        "POST",
        &format!("/api/servers/{id}/restore"),
        &json!({"backup": backup["name"]}),
    );
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["state"], "hibernated", "{restored}");
    let mut ada = Telnet::connect(telnet).await;
    ada.expect("waking up").await;
    ada.expect_within("name", Duration::from_secs(30)).await;
    ada.send(&format!("connect ada {PASSWORD}")).await;
    let room = ada.expect("Players here:").await;
    assert!(room.contains("The Prancing Pony"), "restored: {room}");
    ada.send("quit").await;
    ada.expect_closed(Duration::from_secs(5)).await;

    // Billing: one hour (the hold at creation); the wakes fell inside the
    // hour already paid, and the hibernation in between was not billed.
    let (status, billing) = api.call("GET", "/api/billing", &Value::Null);
    assert_eq!(status, 200);
    assert_eq!(billing["balance_millis"], 10_000 - 1500, "{billing}");
    let charges: Vec<&Value> = billing["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "charge")
        .collect();
    assert_eq!(charges.len(), 1, "{billing}");

    // Delete: the world, its proxy and its data go.
    let (status, _) = api.call("DELETE", &format!("/api/servers/{id}"), &Value::Null);
    assert_eq!(status, 204);
    let refused = tokio::net::TcpStream::connect(telnet).await;
    assert!(refused.is_err(), "the proxy still listens");
    assert!(!dir.path().join(format!("agent/servers/{id}")).exists());
}

#[test]
fn wrong_tokens_are_refused_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let (_platform, api, token) = platform(dir.path());
    let (_agent, agent_http) = agent(dir.path(), api.http, &token);

    // The platform refuses a node token it did not issue, and API keys.
    let registration = json!({"address": "http://127.0.0.1:1", "callback_token": "0123456789abcdef0123",
        "runtime": "process", "cpu_total_millis": 1000, "memory_total_mib": 1024, "free_ports": 10});
    for bad in [
        "Bearer gsp_nt_not-a-real-token".to_owned(),
        format!("{}x", token.replace("gsp_nt_", "Bearer gsp_nt_")),
        api.bearer.clone(),
        String::new(),
    ] {
        let (status, body) = http_request(
            api.http,
            "POST",
            "/nodes/v1/register",
            &[("Authorization", &bad)],
            &registration.to_string(),
        );
        assert_eq!(status, 401, "{bad}: {body}");
        let (status, _) = http_request(
            api.http,
            "POST",
            "/nodes/v1/servers/1/wake",
            &[("Authorization", &bad)],
            "",
        );
        assert_eq!(status, 401, "{bad}");
    }

    // The agent refuses callers without its callback token: the node
    // token, an API key, nothing.
    let start = json!({"runtime": "command", "launch": "gsp world", "ports": [],
        "cpu_millis": 100, "memory_mib": 64});
    for bad in [format!("Bearer {token}"), api.bearer.clone(), String::new()] {
        let (status, body) = http_request(
            agent_http,
            "PUT",
            "/v1/servers/1",
            &[("Authorization", &bad)],
            &start.to_string(),
        );
        assert_eq!(status, 401, "{bad}: {body}");
        let (status, _) = http_request(
            agent_http,
            "GET",
            "/v1/servers/1/logs",
            &[("Authorization", &bad)],
            "",
        );
        assert_eq!(status, 401);
    }
}
