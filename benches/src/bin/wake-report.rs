//! Wake-on-connect latency: what the wake proxy adds to a world's own boot.
//!
//! Two measurements of the same world (same binary, same data, same mods),
//! taken in one run:
//!
//! - **boot alone**: `gsp world` is spawned, and the clock runs until the
//!   first byte its telnet port sends a client that connected as soon as the
//!   port was bound;
//! - **wake through the proxy**: `gsp up` is started with its default world
//!   asleep; a telnet client connects to the proxy, and the clock runs from
//!   the connect until the first byte from the world itself (after the
//!   proxy's "waking up" line). This includes the wake request to the
//!   platform, its billing, the agent starting the world, the world's boot,
//!   and the splice.
//!
//! The report prints both (median and each run) and their difference, the
//! proxy's overhead (target: 50 ms or less).
//!
//! ```text
//! cargo build --release --bin gsp -p gsp -p gsp-benches
//! target/release/wake-report [--runs 5] [--gsp target/release/gsp] [--mods mods]
//! ```

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The proxy's line before the world's first byte.
const WAKING: &[u8] = b"The world is waking up, one moment...\r\n";

struct Args {
    runs: usize,
    gsp: PathBuf,
    mods: PathBuf,
}

fn args() -> Args {
    let mut args = Args {
        runs: 5,
        gsp: std::env::current_exe()
            .expect("own path")
            .with_file_name("gsp"),
        mods: PathBuf::from("mods"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--runs" => args.runs = value().parse().expect("--runs N"),
            "--gsp" => args.gsp = value().into(),
            "--mods" => args.mods = value().into(),
            // `cargo bench`/`cargo test` pass their own flags; ignore them.
            _ => {}
        }
    }
    args
}

fn spawn(gsp: &Path, args: &[&str]) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(gsp)
        .args(args)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", gsp.display()));
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn listening(rx: &std::sync::mpsc::Receiver<String>, name: &str) -> SocketAddr {
    let prefix = format!("listening {name}=");
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no {prefix} line"));
        if let Some(a) = line.strip_prefix(&prefix) {
            return a.parse().unwrap();
        }
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Connects and reads until `skip` has gone by and one more byte came.
fn first_byte_after(addr: SocketAddr, skip: &[u8]) -> Instant {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        let n = s.read(&mut byte).expect("read");
        assert!(n == 1, "closed before the world spoke");
        if seen.len() < skip.len() && skip[seen.len()] == byte[0] {
            seen.push(byte[0]);
            continue;
        }
        return Instant::now();
    }
}

fn boot_alone(gsp: &Path, data: &Path, mods: &Path) -> Duration {
    let t0 = Instant::now();
    let mods = mods.display().to_string();
    let data = data.display().to_string();
    let (child, rx) = spawn(
        gsp,
        &[
            "world",
            "--telnet",
            "127.0.0.1:0",
            "--quic",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--data",
            &data,
            "--mods",
            &mods,
        ],
    );
    let telnet = listening(&rx, "telnet");
    let t1 = first_byte_after(telnet, b"");
    stop(child);
    t1 - t0
}

fn up(gsp: &Path, data: &Path, mods: &Path) -> (Child, SocketAddr) {
    let mods = mods.display().to_string();
    let data = data.display().to_string();
    let (child, rx) = spawn(
        gsp,
        &[
            "up",
            "--http",
            "127.0.0.1:0",
            "--telnet",
            "127.0.0.1:0",
            "--quic",
            "127.0.0.1:0",
            "--data",
            &data,
            "--mods",
            &mods,
        ],
    );
    let telnet = listening(&rx, "telnet");
    // Wait for the whole banner: the platform and agent are up.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        if line.starts_with("Stop with") {
            break;
        }
    }
    (child, telnet)
}

fn wake_through_proxy(gsp: &Path, data: &Path, mods: &Path) -> Duration {
    // Each start of `gsp up` finds the default world asleep (the last one
    // stopped it).
    let (child, telnet) = up(gsp, data, mods);
    let t0 = Instant::now();
    let t1 = first_byte_after(telnet, WAKING);
    stop(child);
    t1 - t0
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn main() {
    let args = args();
    if !args.gsp.exists() {
        eprintln!(
            "wake-report: no gsp binary at {} (build it: cargo build --release --bin gsp, or pass --gsp)",
            args.gsp.display()
        );
        std::process::exit(2);
    }
    let mods = std::path::absolute(&args.mods).unwrap();
    let dir = std::env::temp_dir().join(format!("gsp-wake-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The first start makes the admin, the template and the default world,
    // and runs it once (its certificate and database exist from then on).
    let (first, _) = up(&args.gsp, dir.as_path(), &mods);
    stop(first);
    let world_data = dir.as_path().join("servers/1/data");

    let mut boots = Vec::new();
    let mut wakes = Vec::new();
    for _ in 0..args.runs {
        wakes.push(wake_through_proxy(&args.gsp, dir.as_path(), &mods));
        boots.push(boot_alone(&args.gsp, &world_data, &mods));
    }
    let (boot, wake) = (median(&boots), median(&wakes));
    let overhead = wake.as_secs_f64() - boot.as_secs_f64();
    println!(
        "wake-on-connect ({} runs, {})",
        args.runs,
        args.gsp.display()
    );
    println!(
        "  boot alone (spawn to first telnet byte):   median {} ms   runs {:?}",
        ms(boot),
        boots.iter().map(|d| ms(*d)).collect::<Vec<_>>()
    );
    println!(
        "  wake through the proxy (connect to first byte from the world): median {} ms   runs {:?}",
        ms(wake),
        wakes.iter().map(|d| ms(*d)).collect::<Vec<_>>()
    );
    println!(
        "  proxy overhead (wake - boot): {:.1} ms   (target <= 50 ms)",
        overhead * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
