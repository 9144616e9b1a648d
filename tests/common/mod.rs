//! Test harness: the real `gsp` binary on port 0, and small telnet and HTTP
//! clients that read what a player would read.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The password of the characters tests create.
pub const PASSWORD: &str = "correct horse";

/// Path of the binary under test.
/// Runs `gsp platform ARGS --data DATA` (an admin command on the
/// platform's database); returns its stdout, trimmed, asserting success.
pub fn platform_admin(data: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(gsp_bin())
        .arg("platform")
        .args(args)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run gsp platform");
    assert!(
        out.status.success(),
        "gsp platform {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn gsp_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gsp")
}

/// Spawns `gsp SUBCOMMAND` (world or up) on loopback with free ports and the
/// data dir `data`, stdout piped.
pub fn spawn_server(subcommand: &str, data: &std::path::Path, extra: &[&str]) -> Child {
    Command::new(gsp_bin())
        .args([
            subcommand,
            "--telnet",
            "127.0.0.1:0",
            "--quic",
            "127.0.0.1:0",
        ])
        .args(["--http", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn gsp")
}

/// Lines of a child's stdout up to (not including) the first that starts with `stop`.
pub fn stdout_until(child: &mut Child, stop: &str) -> Vec<String> {
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with(stop))
        .collect()
}

/// A `gsp world` process, killed on drop.
pub struct World {
    child: Child,
    pub telnet: SocketAddr,
    /// The telnet-over-TLS listener, when started with `--telnet-tls`.
    pub telnet_tls: Option<SocketAddr>,
    /// The browser client's listener, when started with `--web`.
    pub web: Option<SocketAddr>,
    pub quic: SocketAddr,
    pub http: SocketAddr,
    pub fingerprint: String,
    pub stdout_rest: mpsc::Receiver<String>,
    _dir: Option<tempfile::TempDir>,
}

impl World {
    /// Starts a world on loopback with free ports and a fresh data dir.
    pub fn start(extra: &[&str]) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut world = World::start_in(dir.path(), extra);
        world._dir = Some(dir);
        world
    }

    /// Starts a world on loopback with free ports and the data dir `data`.
    pub fn start_in(data: &std::path::Path, extra: &[&str]) -> World {
        let mut child = spawn_server("world", data, extra);
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut telnet, mut quic, mut http, mut fingerprint) = (None, None, None, None);
        let mut telnet_tls = None;
        let mut web = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        while telnet.is_none() || quic.is_none() || http.is_none() || fingerprint.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("gsp world did not print its listening lines in time");
            if let Some(a) = line.strip_prefix("listening telnet-tls=") {
                telnet_tls = Some(a.parse().unwrap());
            } else if let Some(a) = line.strip_prefix("listening web=") {
                web = Some(a.parse().unwrap());
            } else if let Some(a) = line.strip_prefix("listening telnet=") {
                telnet = Some(a.parse().unwrap());
            } else if let Some(a) = line.strip_prefix("listening quic=") {
                quic = Some(a.parse().unwrap());
            } else if let Some(a) = line.strip_prefix("listening http=") {
                http = Some(a.parse().unwrap());
            } else if let Some(f) = line.strip_prefix("quic certificate sha256=") {
                fingerprint = Some(f.to_owned());
            }
        }
        World {
            child,
            telnet: telnet.unwrap(),
            telnet_tls,
            web,
            quic: quic.unwrap(),
            http: http.unwrap(),
            fingerprint: fingerprint.unwrap(),
            stdout_rest: rx,
            _dir: None,
        }
    }

    /// GET a path on the world's HTTP listener: (status code, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.http, path)
    }

    /// `/status` as JSON.
    pub fn status(&self) -> serde_json::Value {
        let (code, body) = self.get("/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("status is JSON")
    }

    /// Kills the process with SIGKILL, as a crash or the OOM killer would,
    /// and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gsp world did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 request with extra header lines and a body: (status, body).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect http");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: test\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let code = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (code, body.to_owned())
}

/// A minimal HTTP/1.0 GET.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_request(addr, "GET", path, &[], "")
}

/// A telnet player, reading text as a person would (ANSI and telnet
/// commands removed).
pub struct Telnet {
    pub stream: TcpStream,
    /// Text received and not yet consumed by `expect`.
    pub pending: String,
    /// Raw bytes received, for tests of the protocol itself.
    pub raw: Vec<u8>,
}

impl Telnet {
    pub async fn connect(addr: SocketAddr) -> Telnet {
        let stream = TcpStream::connect(addr).await.expect("telnet connect");
        Telnet {
            stream,
            pending: String::new(),
            raw: Vec::new(),
        }
    }

    /// Connects, creates the character `name` (password [`PASSWORD`]) with
    /// the one-line form at the name prompt, and waits for the first room.
    pub async fn login(addr: SocketAddr, name: &str) -> Telnet {
        let mut t = Telnet::connect(addr).await;
        t.expect("name").await;
        t.send(&format!("create {name} {PASSWORD}")).await;
        t.expect("Players here:").await;
        t
    }

    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("telnet write");
    }

    /// Reads once (up to `wait`); false on EOF.
    async fn read_some(&mut self, wait: Duration) -> Option<bool> {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(wait, self.stream.read(&mut buf)).await {
            Err(_) => None,
            Ok(Ok(0)) | Ok(Err(_)) => Some(false),
            Ok(Ok(n)) => {
                self.raw.extend_from_slice(&buf[..n]);
                self.pending.push_str(&clean(&buf[..n]));
                Some(true)
            }
        }
    }

    /// Waits (up to 10 s) for `needle`; returns and consumes the text up to
    /// and including it.
    pub async fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, Duration::from_secs(10)).await
    }

    pub async fn expect_within(&mut self, needle: &str, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(i) = self.pending.find(needle) {
                let end = i + needle.len();
                let text = self.pending[..end].to_owned();
                self.pending.drain(..end);
                return text;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_some(left).await {
                Some(true) => {}
                Some(false) => panic!(
                    "connection closed waiting for {needle:?}; got {:?}",
                    self.pending
                ),
                None => panic!("timed out waiting for {needle:?}; got {:?}", self.pending),
            }
        }
    }

    /// Reads until the server closes the connection (up to `within`).
    pub async fn expect_closed(&mut self, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_some(left).await {
                Some(true) => {}
                Some(false) => return std::mem::take(&mut self.pending),
                None => panic!("connection still open; got {:?}", self.pending),
            }
        }
    }

    /// Everything that arrives within `wait`.
    pub async fn drain(&mut self, wait: Duration) -> String {
        let deadline = tokio::time::Instant::now() + wait;
        while let Some(true) = self
            .read_some(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {}
        std::mem::take(&mut self.pending)
    }
}

/// Bytes as text: telnet commands and ANSI escapes removed.
pub fn clean(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            255 => {
                // IAC + command (+ option for negotiations).
                let cmd = bytes.get(i + 1).copied().unwrap_or(0);
                i += if (251..=254).contains(&cmd) { 3 } else { 2 };
            }
            0x1b => {
                i += 1;
                while i < bytes.len() && !bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).replace('\r', "")
}
