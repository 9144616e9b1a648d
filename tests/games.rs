//! Other games than GSP worlds, end to end with the real binaries: `gsp
//! platform`, `gsp agent --runtime process`, and `gsp standin` as each
//! server's process, speaking the real protocols (Minecraft's Server List
//! Ping and login, Steam's A2S_INFO). A template says how the game is
//! ready, counted and stopped; the wake proxy answers the server list
//! while the game sleeps and wakes it only for a real join.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{gsp_bin, http_request, platform_admin};
use gsp_proxy::games::{a2s, satisfactory, slp};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

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
            .env("RUST_LOG", "warn")
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
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, value)
    }

    fn server(&self, id: i64) -> Value {
        let (status, server) = self.call("GET", &format!("/api/servers/{id}"), &Value::Null);
        assert_eq!(status, 200, "{server}");
        server
    }

    fn wait_state(&self, id: i64, state: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let server = self.server(id);
            if server["state"] == state {
                return server;
            }
            assert!(Instant::now() < deadline, "never {state}: {server}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_players(&self, id: i64, players: u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, stats) = self.call("GET", &format!("/api/servers/{id}/stats"), &Value::Null);
            if stats["players"] == players {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never {players} players: {stats}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn logs(&self, id: i64) -> String {
        let (_, logs) = self.call(
            "GET",
            &format!("/api/servers/{id}/logs?lines=200"),
            &Value::Null,
        );
        logs.to_string()
    }

    fn template(&self, body: Value) -> i64 {
        let (status, t) = self.call("POST", "/api/admin/templates", &body);
        assert_eq!(status, 201, "{t}");
        t["id"].as_i64().unwrap()
    }

    fn create(&self, template: i64) -> (i64, Value) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, server) = self.call(
                "POST",
                "/api/servers",
                &json!({"template_id": template, "name": "game"}),
            );
            if status == 201 {
                let id = server["id"].as_i64().unwrap();
                return (id, self.server(id));
            }
            assert_eq!(status, 409, "{server}");
            assert!(Instant::now() < deadline, "no node took it: {server}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The platform with an admin and credits, and an agent on it.
fn hosting(dir: &Path) -> (Proc, Proc, Api) {
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
    let token = platform_admin(&data, &["node", "create", "--name", "node-1"]);
    let platform = Proc::spawn(&["platform", "--http", "127.0.0.1:0"], &data);
    let http = platform.listening("http");
    let api = Api {
        http,
        bearer: format!("Bearer {key}"),
    };
    let (_, me) = api.call("GET", "/api/me", &Value::Null);
    let (status, granted) = api.call(
        "POST",
        "/api/admin/credits",
        &json!({"user_id": me["id"], "amount_millis": 100_000, "request_id": "games", "memo": "test"}),
    );
    assert!(status == 200 || status == 201, "{status} {granted}");
    let url = format!("http://{http}");
    let agent = Proc::spawn(
        &[
            "agent",
            "--platform",
            &url,
            "--token",
            &token,
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
            "10",
        ],
        &dir.join("agent"),
    );
    agent.listening("http");
    (platform, agent, api)
}

fn endpoint(server: &Value, name: &str) -> SocketAddr {
    server["endpoints"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} endpoint: {server}"))
        .parse()
        .unwrap()
}

async fn read_frame(s: &mut TcpStream, d: &mut slp::Decoder) -> slp::Frame {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(f) = d.next_frame().unwrap() {
            return f;
        }
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "closed before a whole packet");
        d.feed(&buf[..n]);
    }
}

/// A server-list ping: the status and the pong.
async fn ping(addr: SocketAddr) -> slp::Status {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&slp::client_status("localhost", addr.port(), 767))
        .await
        .unwrap();
    let mut d = slp::Decoder::new(slp::MAX_STATUS_RESPONSE);
    let status = slp::parse_status_response(&read_frame(&mut s, &mut d).await).unwrap();
    s.write_all(&slp::frame(1, &42i64.to_be_bytes()))
        .await
        .unwrap();
    assert_eq!(slp::parse_ping(&read_frame(&mut s, &mut d).await), Ok(42));
    status
}

/// Logs in as `name`: the stand-in's greeting (its login Disconnect), and
/// the connection, open.
async fn login(addr: SocketAddr, name: &str) -> (String, TcpStream) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&slp::client_login("localhost", addr.port(), 767, name))
        .await
        .unwrap();
    let mut d = slp::Decoder::new(slp::MAX_CLIENT_PACKET);
    let text = slp::parse_login_disconnect(&read_frame(&mut s, &mut d).await).unwrap();
    (text, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minecraft_server_sleeps_in_the_server_list_and_wakes_on_a_login() {
    let dir = tempfile::tempdir().unwrap();
    let (_platform, _agent, api) = hosting(dir.path());
    let template = api.template(json!({
        "name": "minecraft", "runtime": "command",
        "launch": "gsp standin minecraft --listen 127.0.0.1:{port.game} --name 'Stand-in MC'",
        "ports": [{"name": "game", "protocol": "tcp"}],
        "cpu_millis": 500, "memory_mib": 256, "price_per_hour": 1500, "idle_seconds": 2,
        "game": {
            "ready": {"kind": "minecraft_slp", "port": "game"},
            "players": {"kind": "minecraft_slp", "port": "game"},
            "stop": {"kind": "console", "command": "stop"},
            "motd": "Blocky"
        }
    }));
    let (id, server) = api.create(template);
    assert_eq!(server["state"], "running");
    let proxy = endpoint(&server, "game");

    // Up: the real (stand-in) server answers through the proxy.
    let status = ping(proxy).await;
    assert_eq!(status.description["text"], "Stand-in MC");
    assert_eq!(status.players.online, 0);
    // A player joins: counted from the server's own status.
    let (greeting, player) = login(proxy, "Steve").await;
    assert_eq!(greeting, "Welcome, Steve! This is a stand-in server.");
    api.wait_players(id, 1);
    drop(player);
    api.wait_players(id, 0);

    // Alone for its idle time: hibernated, stopped with its console
    // command.
    api.wait_state(id, "hibernated");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !api.logs(id).contains("stopping: asked on the console") {
        assert!(Instant::now() < deadline, "{}", api.logs(id));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(api.logs(id).contains("console: stop"), "{}", api.logs(id));

    // Asleep: the proxy answers the server list itself, and the ping
    // wakes nothing.
    let asleep = ping(proxy).await;
    let motd = asleep.description.to_string();
    assert!(motd.contains("Blocky") && motd.contains("Asleep"), "{motd}");
    assert_eq!(asleep.players.online, 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(api.server(id)["state"], "hibernated");

    // A login wakes it and is held until it is ready, then reaches it.
    let (greeting, player) = login(proxy, "Alex").await;
    assert_eq!(greeting, "Welcome, Alex! This is a stand-in server.");
    assert_eq!(api.server(id)["state"], "running");
    drop(player);
    let (status, _) = api.call("DELETE", &format!("/api/servers/{id}"), &Value::Null);
    assert_eq!(status, 204);
}

async fn a2s_info(addr: SocketAddr) -> a2s::Info {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    s.connect(addr).await.unwrap();
    let mut buf = vec![0u8; 1400];
    let mut challenge = None;
    for _ in 0..3 {
        s.send(&a2s::info_request(challenge)).await.unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), s.recv(&mut buf))
            .await
            .expect("an A2S answer")
            .unwrap();
        if let Some(c) = a2s::parse_challenge(&buf[..n]) {
            challenge = Some(c);
            continue;
        }
        return a2s::parse_info(&buf[..n]).unwrap();
    }
    panic!("challenged three times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_a2s_server_is_listed_while_asleep_and_woken_by_game_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let (_platform, _agent, api) = hosting(dir.path());
    let template = api.template(json!({
        "name": "valheim-ish", "runtime": "command",
        "launch": "gsp standin a2s --listen 127.0.0.1:{port.game} --name 'Stand-in A2S' --max-players 10",
        "ports": [{"name": "game", "protocol": "udp"}],
        "cpu_millis": 500, "memory_mib": 256, "price_per_hour": 1500, "idle_seconds": 600,
        "game": {
            "ready": {"kind": "a2s", "port": "game"},
            "players": {"kind": "a2s", "port": "game"},
            "motd": "Viking home"
        }
    }));
    let (id, server) = api.create(template);
    let proxy = endpoint(&server, "game");

    // Up: the server's own answer, through the proxy.
    let info = a2s_info(proxy).await;
    assert_eq!((info.name.as_str(), info.max_players), ("Stand-in A2S", 10));
    // Game traffic: relayed both ways, and the player is counted.
    let player = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    player.connect(proxy).await.unwrap();
    player.send(b"\x01hello").await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), player.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"\x01hello");
    api.wait_players(id, 1);

    // Hibernated: listed as asleep by the proxy, and queries wake nothing.
    let (status, _) = api.call(
        "POST",
        &format!("/api/servers/{id}/hibernate"),
        &Value::Null,
    );
    assert_eq!(status, 200);
    let asleep = a2s_info(proxy).await;
    assert_eq!(asleep.name, "Viking home (asleep: join to wake)");
    assert_eq!(asleep.players, 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(api.server(id)["state"], "hibernated");

    // A new player's game traffic wakes it and is delivered once it is up.
    let joiner = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    joiner.connect(proxy).await.unwrap();
    joiner.send(b"\x01join").await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(30), joiner.recv(&mut buf))
        .await
        .expect("the queued datagram reached the woken server")
        .unwrap();
    assert_eq!(&buf[..n], b"\x01join");
    assert_eq!(api.server(id)["state"], "running");
    let (status, _) = api.call("DELETE", &format!("/api/servers/{id}"), &Value::Null);
    assert_eq!(status, 204);
}

async fn satisfactory_state(addr: SocketAddr) -> satisfactory::ServerState {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    s.connect(addr).await.unwrap();
    s.send(&satisfactory::poll(7)).await.unwrap();
    let mut buf = vec![0u8; 1400];
    let n = tokio::time::timeout(Duration::from_secs(5), s.recv(&mut buf))
        .await
        .expect("a query answer")
        .unwrap();
    satisfactory::parse_state(&buf[..n]).expect("a Server State Response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_satisfactory_server_answers_its_query_while_asleep() {
    let dir = tempfile::tempdir().unwrap();
    let (_platform, _agent, api) = hosting(dir.path());
    let template = api.template(json!({
        "name": "satisfactory-ish", "runtime": "command",
        "launch": "gsp standin satisfactory --listen 127.0.0.1:{port.game} --name 'Stand-in factory'",
        "ports": [{"name": "game", "protocol": "udp"}],
        "cpu_millis": 500, "memory_mib": 256, "price_per_hour": 1500, "idle_seconds": 600,
        "game": {
            "ready": {"kind": "satisfactory_query", "port": "game"},
            "players": {"kind": "proxy"},
            "motd": "Factory"
        }
    }));
    let (id, server) = api.create(template);
    let proxy = endpoint(&server, "game");

    // Up: the server's own answer, through the proxy.
    let up = satisfactory_state(proxy).await;
    assert_eq!(up.cookie, 7);
    assert_eq!(
        (up.state, up.name.as_str()),
        (satisfactory::GameState::Playing, "Stand-in factory")
    );

    // Hibernated: the proxy answers, and the query wakes nothing.
    let (status, _) = api.call(
        "POST",
        &format!("/api/servers/{id}/hibernate"),
        &Value::Null,
    );
    assert_eq!(status, 200);
    let asleep = satisfactory_state(proxy).await;
    assert_eq!(
        (asleep.state, asleep.name.as_str()),
        (
            satisfactory::GameState::Idle,
            "Factory (asleep: join to wake)"
        )
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(api.server(id)["state"], "hibernated");

    // Game traffic wakes it and reaches it.
    let joiner = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    joiner.connect(proxy).await.unwrap();
    joiner.send(b"\x00join").await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(30), joiner.recv(&mut buf))
        .await
        .expect("the queued datagram reached the woken server")
        .unwrap();
    assert_eq!(&buf[..n], b"\x00join");
    assert_eq!(api.server(id)["state"], "running");
    // Counted at the proxy.
    api.wait_players(id, 1);
    let (status, _) = api.call("DELETE", &format!("/api/servers/{id}"), &Value::Null);
    assert_eq!(status, 204);
}
