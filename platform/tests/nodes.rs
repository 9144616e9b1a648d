//! The platform with a real node agent, in one process: node tokens,
//! registration, placement, the wake proxy, idle hibernation and billing,
//! over real HTTP and TCP.
//!
//! The "world" is a shell script run by the process runtime: it prints the
//! `listening` lines of a TCP server this test runs itself (which greets
//! each client), then waits for SIGTERM. So the agent, the runtime's ready
//! signal, the proxy and the platform are the real ones, and the test
//! needs no `gsp` binary.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gsp_agent::runtime::process::ProcessRuntime;
use gsp_agent::{Agent, AgentConfig, PortRange};
use gsp_control::auth::{ApiKeys, Role, Users};
use gsp_control::fleet::Fleet;
use gsp_control::ledger::{Ledger, Millis};
use gsp_control::servers::ServerState;
use gsp_platform::api::AppState;
use gsp_store::testing::TestDb;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

const GREETING: &str = "hello from the world\r\n";

/// A TCP server that greets every client, standing in for a world's
/// telnet port.
async fn fake_world() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(GREETING.as_bytes()).await;
                let mut buf = [0u8; 64];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

struct Setup {
    http: reqwest::Client,
    base: String,
    key: String,
    node_token: String,
    agent_api: SocketAddr,
    agent: Arc<Agent>,
    world: SocketAddr,
    state: AppState,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

async fn setup(t: &TestDb, credits: i64, memory_mib: i64) -> Setup {
    setup_with(
        t,
        credits,
        memory_mib,
        Arc::new(ProcessRuntime::new("/bin/false".into())),
    )
    .await
}

async fn setup_with(
    t: &TestDb,
    credits: i64,
    memory_mib: i64,
    runtime: Arc<dyn gsp_agent::runtime::Runtime>,
) -> Setup {
    let db = t.db().clone();
    let fleet = Fleet::new(db.clone());
    let state = AppState::new(db.clone()).with_fleet(fleet.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(gsp_platform::serve(listener, state.clone()));

    let admin = Users::new(db.clone())
        .create("root@x.com", Some("correct horse"), Role::Admin)
        .await
        .unwrap();
    let (_, key) = ApiKeys::new(db.clone())
        .create(admin.id, "t")
        .await
        .unwrap();
    if credits > 0 {
        Ledger::new(db.clone())
            .grant(
                &admin.id.to_string(),
                "setup",
                &admin.id.to_string(),
                Millis(credits),
                "setup",
            )
            .await
            .unwrap();
    }
    let (_, node_token) = fleet.create_node("node-1").await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let agent_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let agent_api = agent_listener.local_addr().unwrap();
    let config = AgentConfig {
        platform: base.clone(),
        token: node_token.clone(),
        callback_token: gsp_agent::callback_token().unwrap(),
        address: format!("http://{agent_api}"),
        data: dir.path().to_owned(),
        public_ip: [127, 0, 0, 1].into(),
        ports: BTreeMap::from([
            ("telnet".to_owned(), PortRange { first: 0, count: 1 }),
            ("quic".to_owned(), PortRange { first: 0, count: 1 }),
        ]),
        heartbeat: Duration::from_millis(200),
        hold: Duration::from_secs(10),
        stop_grace: Duration::from_secs(5),
        cpu_total_millis: 2000,
        memory_total_mib: memory_mib,
        // Fast restarts, the real count and window.
        restart: gsp_agent::RestartPolicy {
            backoff: Duration::from_millis(50),
            ..gsp_agent::RestartPolicy::default()
        },
    };
    let agent = Agent::new(config, runtime);
    let stop = CancellationToken::new();
    tokio::spawn(gsp_agent::http::serve(
        agent_listener,
        agent.clone(),
        stop.clone(),
    ));
    tokio::spawn(agent.clone().run(stop.clone()));
    // Registered: the node has an address.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !state
        .hosting
        .orchestrator()
        .unwrap()
        .nodes()
        .await
        .unwrap()
        .iter()
        .any(|n| !n.address.is_empty())
    {
        assert!(Instant::now() < deadline, "the agent never registered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Setup {
        http: gsp_agent_api::http_client(),
        base,
        key,
        node_token,
        agent_api,
        agent,
        world: fake_world().await,
        state,
        stop,
        _dir: dir,
    }
}

/// A template whose world is the fake one, idle after one second.
async fn template(s: &Setup) -> i64 {
    template_of(s, "fake", "while :; do sleep 0.05; done", 1).await
}

/// A template named `name` whose world prints the fake world's listening
/// lines, then runs `then`; idle after `idle_seconds`.
async fn template_of(s: &Setup, name: &str, then: &str, idle_seconds: i64) -> i64 {
    let script = format!(
        "trap 'echo world saved; exit 0' TERM; echo starting; echo listening telnet={}; \
         echo listening http=127.0.0.1:9; {then}",
        s.world
    );
    let (status, t) = s
        .call(
            reqwest::Method::POST,
            "/api/admin/templates",
            json!({"name": name, "runtime": "command",
                "launch": format!("/bin/sh -c \"{script}\""),
                "ports": [{"name": "telnet", "protocol": "tcp"}],
                "cpu_millis": 500, "memory_mib": 256, "price_per_hour": 1500,
                "idle_seconds": idle_seconds}),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    t["id"].as_i64().unwrap()
}

async fn create(s: &Setup, template: i64) -> (u16, Value) {
    s.call(
        reqwest::Method::POST,
        "/api/servers",
        json!({"template_id": template, "name": "t"}),
    )
    .await
}

/// Deletes server `id` through the API; answers the status.
async fn delete(s: &Setup, id: i64) -> u16 {
    s.call(
        reqwest::Method::DELETE,
        &format!("/api/servers/{id}"),
        Value::Null,
    )
    .await
    .0
}

/// Reads until `needle` arrives (10 s at most); returns all read.
async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&got).contains(needle) {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {needle:?}; got {:?}", String::from_utf8_lossy(&got)))
            .unwrap();
        assert!(
            n > 0,
            "closed before {needle:?}; got {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

async fn wait_state(s: &Setup, id: i64, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, server) = s
            .call(
                reqwest::Method::GET,
                &format!("/api/servers/{id}"),
                Value::Null,
            )
            .await;
        if server["state"] == state {
            return;
        }
        assert!(Instant::now() < deadline, "never {state}: {server}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wake_hibernate_cycle(t: TestDb) {
    let s = setup(&t, 10_000, 4096).await;
    let template = template(&s).await;
    let (status, server) = create(&s, template).await;
    assert_eq!(status, 201, "{server}");
    let id = server["id"].as_i64().unwrap();
    let (_, server) = s
        .call(
            reqwest::Method::GET,
            &format!("/api/servers/{id}"),
            Value::Null,
        )
        .await;
    let proxy: SocketAddr = server["endpoints"]["telnet"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(s.agent.endpoints(id).unwrap()["telnet"], proxy);

    // Running: the proxy splices straight through, both ways.
    let mut c = TcpStream::connect(proxy).await.unwrap();
    let text = read_until(&mut c, GREETING).await;
    assert!(!text.contains("waking"), "{text}");
    c.write_all(b"ping\r\n").await.unwrap();
    read_until(&mut c, "ping").await;
    // A client at the proxy keeps the world awake past its idle time.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let (_, server) = s
        .call(
            reqwest::Method::GET,
            &format!("/api/servers/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(server["state"], "running");
    drop(c);

    // Alone for its idle time: hibernated, and its world stopped (it was
    // told to save).
    wait_state(&s, id, "hibernated").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.agent.stats(id).await.unwrap().running {
        assert!(Instant::now() < deadline, "the world still runs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let logs = s.agent.logs(id, 50).await.unwrap();
    assert!(logs.iter().any(|l| l == "world saved"), "{logs:?}");

    // The next client is held with a line, wakes it, and reaches it.
    let mut c = TcpStream::connect(proxy).await.unwrap();
    let text = read_until(&mut c, GREETING).await;
    assert!(text.starts_with(gsp_proxy::WAKING_LINE), "{text}");
    wait_state(&s, id, "running").await;
    let causes: Vec<(ServerState, String)> = s
        .state
        .servers
        .history(id)
        .await
        .unwrap()
        .into_iter()
        .map(|(state, _, cause)| (state, cause))
        .collect();
    assert_eq!(
        causes,
        vec![
            (ServerState::Running, "user:1".into()),
            (ServerState::Hibernated, "idle".into()),
            (ServerState::Running, "proxy".into()),
        ]
    );
    // One hour billed: the wake fell inside it.
    let (_, billing) = s
        .call(reqwest::Method::GET, "/api/billing", Value::Null)
        .await;
    assert_eq!(billing["balance_millis"], 10_000 - 1500, "{billing}");

    // The admin's node page knows the node and what runs there.
    let nodes = s
        .state
        .hosting
        .orchestrator()
        .unwrap()
        .nodes()
        .await
        .unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!((nodes[0].name.as_str(), nodes[0].servers), ("node-1", 1));
    assert_eq!(nodes[0].memory_free_mib, 4096 - 256);

    // Deleted: the proxy closes.
    drop(c);
    assert_eq!(delete(&s, id).await, 204);
    assert!(TcpStream::connect(proxy).await.is_err());
    s.stop.cancel();
}

/// Waits until the agent's log of server `id` has `n` lines that contain
/// `needle`; answers the log.
async fn wait_log(s: &Setup, id: i64, needle: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let logs = s.agent.logs(id, 1000).await.unwrap();
        if logs.iter().filter(|l| l.contains(needle)).count() >= n {
            return logs;
        }
        assert!(
            Instant::now() < deadline,
            "never {n} x {needle:?}: {logs:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pid of the world's last start, from the agent's log line.
fn last_pid(logs: &[String]) -> i32 {
    let line = logs
        .iter()
        .rev()
        .find(|l| l.starts_with("[agent] started"))
        .expect("a start line");
    let pid = line.rsplit("(pid ").next().unwrap().trim_end_matches(')');
    pid.parse().unwrap()
}

async fn a_killed_world_is_restarted(t: TestDb) {
    let s = setup(&t, 10_000, 4096).await;
    let template = template_of(&s, "steady", "while :; do sleep 0.05; done", 3600).await;
    let (status, server) = create(&s, template).await;
    assert_eq!(status, 201, "{server}");
    let id = server["id"].as_i64().unwrap();
    let logs = wait_log(&s, id, "[agent] started", 1).await;
    let pid = last_pid(&logs);

    // kill -9 from outside: noticed at once, restarted, reported.
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let logs = wait_log(&s, id, "[agent] started", 2).await;
    assert!(
        logs.iter()
            .any(|l| l == "[agent] the world exited (signal: 9 (SIGKILL))"),
        "{logs:?}"
    );
    assert_ne!(last_pid(&logs), pid, "a new process");
    let deadline = Instant::now() + Duration::from_secs(10);
    let server = loop {
        let (_, server) = s
            .call(
                reqwest::Method::GET,
                &format!("/api/servers/{id}"),
                Value::Null,
            )
            .await;
        if !server["last_exit"].is_null() {
            break server;
        }
        assert!(
            Instant::now() < deadline,
            "the exit never reached the platform: {server}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(server["state"], "running", "{server}");
    assert_eq!(
        server["last_exit"]["status"], "signal: 9 (SIGKILL)",
        "{server}"
    );
    assert_eq!(server["last_exit"]["outcome"], "restarting", "{server}");
    // Back behind its proxy.
    let proxy: SocketAddr = s.agent.endpoints(id).unwrap()["telnet"];
    let mut c = TcpStream::connect(proxy).await.unwrap();
    read_until(&mut c, GREETING).await;
    assert!(s.agent.stats(id).await.unwrap().running);
    drop(c);
    assert_eq!(delete(&s, id).await, 204);
    s.stop.cancel();
}

async fn a_world_that_keeps_failing_ends_crashed(t: TestDb) {
    let s = setup(&t, 10_000, 4096).await;
    let template = template_of(
        &s,
        "flaky",
        "sleep 0.3; echo 'fatal: out of cheese' >&2; exit 1",
        3600,
    )
    .await;
    let (status, server) = create(&s, template).await;
    assert_eq!(status, 201, "{server}");
    let id = server["id"].as_i64().unwrap();

    // It fails; three restarts fail too; then it is left crashed.
    wait_state(&s, id, "crashed").await;
    let logs = s.agent.logs(id, 1000).await.unwrap();
    let starts = logs
        .iter()
        .filter(|l| l.starts_with("[agent] started"))
        .count();
    assert_eq!(starts, 4, "the first start and three restarts: {logs:?}");
    let (_, server) = s
        .call(
            reqwest::Method::GET,
            &format!("/api/servers/{id}"),
            Value::Null,
        )
        .await;
    let exit = &server["last_exit"];
    assert_eq!(exit["outcome"], "crashed", "{server}");
    assert_eq!(exit["status"], "exit status: 1", "{server}");
    let lines: Vec<&str> = exit["last_lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(lines.contains(&"fatal: out of cheese"), "{lines:?}");
    assert_eq!(
        lines.last(),
        Some(&"[agent] the world exited (exit status: 1)")
    );
    let history = s.state.servers.history(id).await.unwrap();
    let (state, crashed_at, cause) = history.last().unwrap().clone();
    assert_eq!(
        (state, cause.as_str()),
        (ServerState::Crashed, "crashed: exit status: 1")
    );

    // No charge after the crash, however long it lies there.
    let billed = s
        .state
        .hosting
        .bill_running(crashed_at + 5 * 3_600_000)
        .await
        .unwrap();
    assert_eq!(billed, 0);
    let (_, billing) = s
        .call(reqwest::Method::GET, "/api/billing", Value::Null)
        .await;
    assert_eq!(billing["balance_millis"], 10_000 - 1500, "{billing}");

    // A player is told it crashed, and does not wake it.
    let proxy: SocketAddr = s.agent.endpoints(id).unwrap()["telnet"];
    let mut c = TcpStream::connect(proxy).await.unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).await.unwrap();
    assert!(
        text.contains("the server has crashed (exit status: 1)"),
        "{text}"
    );
    assert!(!text.contains("waking"), "{text}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = s.agent.logs(id, 1000).await.unwrap();
    let again = logs
        .iter()
        .filter(|l| l.starts_with("[agent] started"))
        .count();
    assert_eq!(again, 4, "nothing started it: {logs:?}");
    wait_state(&s, id, "crashed").await;

    // Its owner starts it again: a fresh count of restarts.
    let (status, body) = s
        .call(
            reqwest::Method::POST,
            &format!("/api/servers/{id}/wake"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "running");
    wait_log(&s, id, "[agent] started", 5).await;
    assert_eq!(delete(&s, id).await, 204);
    s.stop.cancel();
}

async fn the_console_reaches_the_world(t: TestDb) {
    let s = setup(&t, 10_000, 4096).await;
    let template = template_of(
        &s,
        "chatty",
        "while read line; do echo heard: \\$line; done; sleep 60",
        3600,
    )
    .await;
    let (status, server) = create(&s, template).await;
    assert_eq!(status, 201, "{server}");
    let id = server["id"].as_i64().unwrap();
    let (status, body) = s
        .call(
            reqwest::Method::POST,
            &format!("/api/servers/{id}/console"),
            json!({"line": "say hello"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let logs = wait_log(&s, id, "heard: say hello", 1).await;
    assert!(logs.iter().any(|l| l == "> say hello"), "echoed: {logs:?}");
    // Not a line: refused, and nothing reaches the world.
    for bad in ["", "two\nlines"] {
        let (status, body) = s
            .call(
                reqwest::Method::POST,
                &format!("/api/servers/{id}/console"),
                json!({ "line": bad }),
            )
            .await;
        assert_eq!(status, 400, "{bad:?}: {body}");
    }
    assert_eq!(delete(&s, id).await, 204);
    s.stop.cancel();
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn the_console_reaches_the_world(t) {
        the_console_reaches_the_world(t).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn a_killed_world_is_restarted(t) {
        a_killed_world_is_restarted(t).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn a_world_that_keeps_failing_ends_crashed(t) {
        a_world_that_keeps_failing_ends_crashed(t).await;
    }
}

async fn refusals(t: TestDb) {
    // A node too small for the template: no room.
    let s = setup(&t, 10_000, 128).await;
    let template = template(&s).await;
    let (status, body) = create(&s, template).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "no node has room for this server");
    let (_, servers) = s
        .call(reqwest::Method::GET, "/api/servers", Value::Null)
        .await;
    assert_eq!(servers, json!([]), "no server was made");
    let (_, billing) = s
        .call(reqwest::Method::GET, "/api/billing", Value::Null)
        .await;
    assert_eq!(billing["balance_millis"], 10_000, "nothing was charged");

    // Bad tokens, both ways.
    let http = gsp_agent_api::http_client();
    for bad in ["gsp_nt_forged", s.key.as_str(), ""] {
        let r = http
            .post(format!("{}/nodes/v1/heartbeat", s.base))
            .bearer_auth(bad)
            .json(&json!({"free_ports": 1, "servers": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "platform took {bad:?}");
    }
    for bad in [s.node_token.as_str(), "0123456789", ""] {
        let r = http
            .post(format!("http://{}/v1/servers/1/stop", s.agent_api))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "agent took {bad:?}");
    }
    s.stop.cancel();
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn wake_hibernate_cycle(t) {
        wake_hibernate_cycle(t).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn refusals(t) {
        refusals(t).await;
    }
}

/// The same cycle with the docker runtime and the real world image
/// (`deploy/build-image --tag gsp-world:test`): create, play through the
/// proxy, hibernate when idle (the container stops), wake, delete (the
/// container goes).
async fn cycle_with_docker(t: TestDb) {
    use gsp_agent::runtime::docker::DockerRuntime;
    let image = std::env::var("GSP_TEST_IMAGE").unwrap_or_else(|_| "gsp-world:test".into());
    let skip = |why: String| {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the docker cycle needs the engine and {image} under CI=true: {why}"
        );
        eprintln!("skipping the docker cycle: {why} (with CI=true this fails)");
    };
    let runtime = match DockerRuntime::connect().await {
        Ok(rt) => rt,
        Err(e) => return skip(format!("no engine: {e}")),
    };
    if let Err(e) = runtime.client().inspect_image(&image).await {
        return skip(format!("no image {image}: {e}"));
    }
    let docker = runtime.client().clone();
    let s = setup_with(&t, 10_000, 4096, Arc::new(runtime)).await;
    let (status, tpl) = s
        .call(
            reqwest::Method::POST,
            "/api/admin/templates",
            json!({"name": "docker-world", "runtime": "image", "launch": image,
                "ports": [{"name": "telnet", "protocol": "tcp"}, {"name": "quic", "protocol": "udp"}],
                "cpu_millis": 500, "memory_mib": 256, "price_per_hour": 1500, "idle_seconds": 2}),
        )
        .await;
    assert_eq!(status, 201, "{tpl}");
    let (status, server) = create(&s, tpl["id"].as_i64().unwrap()).await;
    assert_eq!(status, 201, "{server}");
    let id = server["id"].as_i64().unwrap();
    let container = format!("gsp-server-{id}");
    let proxy: SocketAddr = s.agent.endpoints(id).unwrap()["telnet"];

    let running = |docker: bollard::Docker, name: String| async move {
        docker
            .inspect_container(
                &name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .ok()
            .and_then(|c| c.state.and_then(|st| st.running))
    };
    assert_eq!(running(docker.clone(), container.clone()).await, Some(true));
    let mut c = TcpStream::connect(proxy).await.unwrap();
    read_until(&mut c, "name").await;
    drop(c);

    wait_state(&s, id, "hibernated").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while running(docker.clone(), container.clone()).await == Some(true) {
        assert!(Instant::now() < deadline, "the container still runs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut c = TcpStream::connect(proxy).await.unwrap();
    let text = read_until(&mut c, "name").await;
    assert!(text.starts_with(gsp_proxy::WAKING_LINE), "{text}");
    wait_state(&s, id, "running").await;
    drop(c);

    assert_eq!(delete(&s, id).await, 204);
    assert_eq!(
        running(docker, container).await,
        None,
        "the container is gone"
    );
    s.stop.cancel();
}

#[test]
fn docker_cycle() {
    gsp_store::testing::run_with(
        gsp_store::Backend::Sqlite,
        &gsp_control::db::MIGRATOR,
        |t| async move { cycle_with_docker(t).await },
    );
}
