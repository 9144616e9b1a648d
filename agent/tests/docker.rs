//! The docker runtime against the real Docker engine and the real world
//! image (`deploy/build-image --tag gsp-world:test`, or the image named by
//! `GSP_TEST_IMAGE`).
//!
//! A world's life as the node agent sees it: started from the image with
//! the template's limits and ports, reachable over telnet and HTTP on the
//! loopback ports the engine picked, measured, stopped (it saves into the
//! bind-mounted data directory and exits 0), started again from its saves,
//! and removed. Plus the ways a start fails: an image the engine does not
//! have, and a world that exits before it is ready.
//!
//! Without a reachable engine or without the image the tests say so and
//! skip, unless `CI=true`, where they fail.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use bollard::query_parameters::InspectContainerOptions;
use gsp_agent::runtime::docker::{spec, DockerRuntime};
use gsp_agent::runtime::{Launch, Runtime, RuntimeError};
use gsp_agent_api::Port;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the world gets to save and exit when stopped.
const GRACE: Duration = Duration::from_secs(20);
/// How long any one network exchange with the world may take.
const DEADLINE: Duration = Duration::from_secs(15);

/// The runtime and the test image, or `None` after saying why the test
/// skips (a panic under `CI=true`).
async fn engine_and_image() -> Option<(DockerRuntime, String)> {
    let image = std::env::var("GSP_TEST_IMAGE").unwrap_or_else(|_| "gsp-world:test".into());
    let rt = match DockerRuntime::connect().await {
        Ok(rt) => rt,
        Err(e) => return skip(&format!("the docker engine is not reachable: {e}")),
    };
    match rt.client().inspect_image(&image).await {
        Ok(_) => Some((rt, image)),
        Err(e) => skip(&format!(
            "the image {image} is missing ({e}); build it with `deploy/build-image --tag {image}`"
        )),
    }
}

fn skip<T>(why: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the docker tests need the engine and the image under CI=true: {why}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "skipping a docker test: {why} (with CI=true this fails)"
    );
    None
}

/// A server id no other test or real server uses.
fn server_id() -> i64 {
    2_000_000_000 + fastrand::i64(0..1_000_000_000)
}

/// Removes the server's container when a test ends, however it ends.
struct Cleanup(i64);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", &spec::container_name(self.0)])
            .output();
    }
}

fn launch(server_id: i64, image: &str, dir: &std::path::Path) -> Launch {
    Launch {
        server_id,
        launch: image.to_owned(),
        ports: Port::gsp_world(),
        cpu_millis: 500,
        memory_mib: 256,
        data_dir: dir.join("data"),
        log_file: dir.join("logs/world.log"),
        env: vec![("GSP_WORLD_NAME".into(), "docker-test".into())],
        game: Default::default(),
    }
}

/// Reads what a new telnet connection is sent until `want` appears.
async fn telnet_until(addr: SocketAddr, want: &str) -> String {
    let mut stream = tokio::time::timeout(DEADLINE, TcpStream::connect(addr))
        .await
        .expect("telnet connect in time")
        .expect("telnet connects");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.expect("telnet read");
            assert!(
                n > 0,
                "telnet closed before {want:?}: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&got).contains(want) {
                break;
            }
        }
    };
    if tokio::time::timeout(DEADLINE, read).await.is_err() {
        panic!(
            "no {want:?} over telnet in {DEADLINE:?}: {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// `GET path` over HTTP/1.0: the status line and the body.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("http connects");
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("http write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("http read");
        String::from_utf8_lossy(&response).into_owned()
    };
    tokio::time::timeout(DEADLINE, exchange)
        .await
        .expect("http answers in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_runs_in_a_limited_container_saves_on_stop_and_comes_back() {
    let Some((rt, image)) = engine_and_image().await else {
        return;
    };
    assert_eq!((rt.name(), rt.runs()), ("docker", "image"));
    let id = server_id();
    let _cleanup = Cleanup(id);
    let dir = tempfile::tempdir().unwrap();
    let launch = launch(id, &image, dir.path());
    let name = spec::container_name(id);

    let started = rt.start(&launch).await.expect("the world starts");
    let names: Vec<&str> = started.listeners.keys().map(String::as_str).collect();
    assert_eq!(names, ["http", "quic", "telnet"]);
    for addr in started.listeners.values() {
        assert!(addr.ip().is_loopback() && addr.port() != 0, "{started:?}");
    }

    // A telnet player is greeted and asked for a name.
    let greeting = telnet_until(started.listeners["telnet"], "What is your name?").await;
    assert!(greeting.contains("Welcome to GSP"), "{greeting:?}");

    // The container is the runtime's, with the template's limits.
    let c = rt
        .client()
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .expect("inspect");
    let labels = c
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default();
    assert_eq!(labels.get("gsp.managed").map(String::as_str), Some("true"));
    assert_eq!(labels.get("gsp.server"), Some(&id.to_string()));
    let host = c.host_config.clone().expect("host config");
    assert_eq!(host.memory, Some(256 << 20));
    assert_eq!(host.memory_swap, Some(256 << 20));
    assert_eq!(host.nano_cpus, Some(500_000_000));
    assert_eq!(host.pids_limit, Some(256));
    let ports = c
        .network_settings
        .and_then(|n| n.ports)
        .expect("published ports");
    let quic = ports
        .get("4433/udp")
        .cloned()
        .flatten()
        .and_then(|b| b.into_iter().next())
        .expect("4433/udp is published");
    assert_eq!(quic.host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        quic.host_port,
        Some(started.listeners["quic"].port().to_string())
    );

    let usage = rt.usage(id).await.expect("usage");
    assert!(usage.running, "{usage:?}");
    assert!(
        usage.memory_mib > 0.0 && usage.memory_mib < 256.0,
        "{usage:?}"
    );
    assert!(
        usage.cpu_percent.is_finite() && usage.cpu_percent >= 0.0,
        "{usage:?}"
    );

    let health = http_get(started.listeners["http"], "/health").await;
    assert!(
        health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"),
        "{health}"
    );

    // Starting it while it runs is the same world.
    assert_eq!(rt.start(&launch).await.expect("start again"), started);

    rt.stop(id, GRACE).await.expect("stop");
    let c = rt
        .client()
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .expect("inspect a stopped container");
    let state = c.state.expect("state");
    assert_eq!(state.running, Some(false));
    assert_eq!(
        state.exit_code,
        Some(0),
        "SIGTERM makes the world save and exit 0"
    );
    assert!(
        launch.data_dir.join("gsp.db").is_file(),
        "the world saved into the bind mount"
    );
    let logs = rt.logs(id, 1000).await.expect("logs");
    assert!(logs.iter().any(|l| l.contains("world saved")), "{logs:#?}");
    assert!(
        logs.iter()
            .any(|l| l.contains("the world exited (exit code 0)")),
        "{logs:#?}"
    );
    let file = std::fs::read_to_string(&launch.log_file).expect("the log file");
    assert!(file.contains("listening telnet=0.0.0.0:4000"), "{file}");
    assert!(!rt.usage(id).await.expect("usage when stopped").running);
    // Stopping a stopped world is fine.
    rt.stop(id, GRACE).await.expect("stop again");

    // It comes back from its saves in a fresh container.
    let again = rt.start(&launch).await.expect("the world starts again");
    assert_eq!(again.listeners.len(), 3);
    telnet_until(again.listeners["telnet"], "What is your name?").await;
    let logs = rt.logs(id, 1000).await.expect("logs");
    assert!(
        logs.iter()
            .any(|l| l.contains("restoring the last complete save")),
        "{logs:#?}"
    );
    assert!(
        logs.iter()
            .filter(|l| l.starts_with("[agent] started container"))
            .count()
            == 2,
        "the ring keeps both runs: {logs:#?}"
    );

    rt.remove(id, GRACE).await.expect("remove");
    let gone = rt
        .client()
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await;
    match gone {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        other => panic!("the container should be gone: {other:?}"),
    }
    assert!(matches!(rt.logs(id, 10).await, Err(RuntimeError::Unknown)));
    // Removing a removed server, and stopping it, are fine.
    rt.remove(id, GRACE).await.expect("remove again");
    rt.stop(id, GRACE).await.expect("stop a removed one");
    assert!(!rt.usage(id).await.expect("usage of a removed one").running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_cannot_work_fails_with_a_clear_error() {
    let Some((rt, image)) = engine_and_image().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    // An image the engine does not have.
    let id = server_id();
    let _cleanup = Cleanup(id);
    let missing = launch(id, "gsp-world-missing:nope", dir.path());
    match rt.start(&missing).await {
        Err(RuntimeError::Engine(e)) => {
            assert!(e.contains("gsp-world-missing:nope"), "{e}");
            assert!(e.to_lowercase().contains("no such image"), "{e}");
        }
        other => panic!("expected an engine error, got {other:?}"),
    }

    // A world that exits at once: its settings are wrong.
    let id = server_id();
    let _cleanup = Cleanup(id);
    let mut bad = launch(id, &image, dir.path());
    bad.env
        .push(("GSP_WORLD_NAME".into(), "no spaces allowed".into()));
    match rt.start(&bad).await {
        Err(RuntimeError::Failed(out)) => {
            assert!(out.contains("a world name is 1 to 32 letters"), "{out}");
            assert!(out.contains("the world exited (exit code 2)"), "{out}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(!rt.usage(id).await.expect("usage").running);
    rt.remove(id, GRACE).await.expect("remove the failed one");

    // A launch the runtime refuses before the engine sees it.
    let mut invalid = launch(id, "gsp-world:test with words", dir.path());
    assert!(matches!(
        rt.start(&invalid).await,
        Err(RuntimeError::Invalid(_))
    ));
    invalid.launch = image;
    invalid.memory_mib = 0;
    assert!(matches!(
        rt.start(&invalid).await,
        Err(RuntimeError::Invalid(_))
    ));
}
