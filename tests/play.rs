//! `gsp play` under Xvfb with Mesa's software GL: it logs in to a real
//! world, draws the town, walks north into the tavern by script and talks
//! with a telnet player there. Its screenshots are checked by pixels
//! against where the server says everyone stands.
//!
//! Needs `Xvfb` (and Mesa's GL); scripts/test installs them. Without them
//! the test is skipped, except under `CI=true`, where it fails.
#![cfg(feature = "play")]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{gsp_bin, Telnet, World};
use gsp_client::scene::Scene;
use gsp_client::{parse_fingerprint, Client, Trust};
use gsp_play::view::Follow;
use gsp_protocol::ServerDatagram;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 600;
const AVATAR: u32 = 0x3a6fd8;
const PLAZA_FLOOR: u32 = 0xb89a6a;
const TAVERN_FLOOR: u32 = 0x7a5230;

/// An X server of our own, killed on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn xvfb() -> Option<Xvfb> {
    let found = Command::new("Xvfb")
        .arg("-help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Xvfb is missing under CI: scripts/test installs it"
        );
        eprintln!("skipping: Xvfb is not installed (scripts/test installs it)");
        return None;
    }
    // -displayfd: the server picks a free display and prints its number.
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1024x768x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("Xvfb prints its display");
    let number: u32 = line.trim().parse().expect("a display number");
    Some(Xvfb {
        child,
        display: format!(":{number}"),
    })
}

/// Where the server puts every named entity, by name.
type Positions = HashMap<String, [f32; 3]>;

/// Where the watcher sees every named entity, by name, and itself.
type Seen = Arc<Mutex<Positions>>;

/// A graphical player that walks a little north-east of the plaza's centre,
/// then stands and watches: it reports where the server puts everyone it
/// sees, by the names the server gives them.
async fn watcher(world: &World, seen: Seen) -> tokio::task::JoinHandle<()> {
    let trust = Trust::Fingerprint(parse_fingerprint(&world.fingerprint).unwrap());
    let mut client = Client::connect(world.quic, "watcher", &trust)
        .await
        .unwrap();
    tokio::spawn(async move {
        let mut scene = Scene::new();
        let datagrams = client.datagrams();
        let mut ticks = 0u32;
        let mut every = tokio::time::interval(Duration::from_millis(33));
        loop {
            tokio::select! {
                _ = every.tick() => {
                    ticks += 1;
                    let mv = if ticks <= 20 { std::f32::consts::FRAC_1_SQRT_2 } else { 0.0 };
                    if client.send_input(mv, mv).is_err() {
                        return;
                    }
                }
                d = datagrams.next_datagram() => {
                    let Ok(ServerDatagram::Snapshot { header, payload }) = d else {
                        if d.is_err() { return; }
                        continue;
                    };
                    if client.apply_snapshot(&header, &payload).is_err() {
                        continue;
                    }
                    let view = client.replica().latest();
                    let mut s = seen.lock().unwrap();
                    for e in &view.entities {
                        if let Some(name) = scene.name_of(e.id) {
                            s.insert(name.to_owned(), client.quantizer().position_of(e.state.position));
                        }
                    }
                }
                m = client.next_event() => match m {
                    Some(Ok(m)) => { let _ = scene.apply(&m); }
                    _ => return,
                },
            }
        }
    })
}

fn pixel_near(
    img: &image::RgbaImage,
    at: [f32; 2],
    rgb: u32,
    tolerance: i32,
) -> Result<(), String> {
    let want = [
        (rgb >> 16) as i32 & 255,
        (rgb >> 8) as i32 & 255,
        rgb as i32 & 255,
    ];
    let (cx, cy) = (at[0].round() as i64, at[1].round() as i64);
    let mut close = 0;
    let mut seen = Vec::new();
    for dy in -2..=2 {
        for dx in -2..=2 {
            let (x, y) = (cx + dx, cy + dy);
            if x < 0 || y < 0 || x >= i64::from(img.width()) || y >= i64::from(img.height()) {
                continue;
            }
            let p = img.get_pixel(x as u32, y as u32).0;
            if (0..3).all(|i| (i32::from(p[i]) - want[i]).abs() <= tolerance) {
                close += 1;
            }
            seen.push(p);
        }
    }
    if close >= 13 {
        Ok(())
    } else {
        Err(format!(
            "around {at:?} expected #{rgb:06x}, {close}/25 close; saw {:?}",
            &seen[..seen.len().min(5)]
        ))
    }
}

fn load(path: &Path) -> image::RgbaImage {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgba8();
    assert_eq!((img.width(), img.height()), (WIDTH, HEIGHT));
    img
}

/// Where the world point `p` is on the screenshot, with the camera of a
/// player at `feet` facing north, as `gsp play` starts.
fn on_screen(feet: [f32; 3], p: [f32; 3]) -> [f32; 2] {
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    let m = Follow::default().matrix(feet, w, h);
    let at = gsp_play::view::project(&m, p, w, h).expect("in front of the camera");
    // Clear of the room banner (top) and the text panel (bottom left).
    let (_, top, width, _) = gsp_play::window::panel_rect(w, h);
    assert!(
        at[1] > gsp_play::window::TOP_BANNER + 4.0 && (at[1] < top - 4.0 || at[0] > width + 4.0),
        "{p:?} at {at:?} is under the HUD"
    );
    at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsp_play_draws_the_town_walks_north_and_talks() {
    let Some(x) = xvfb() else { return };
    let world = World::start(&[]);
    let mut tess = Telnet::login(world.telnet, "tess").await;
    tess.send("north").await;
    tess.expect("The Prancing Pony").await;

    let seen: Seen = Arc::default();
    let watching = watcher(&world, seen.clone()).await;
    tokio::time::sleep(Duration::from_millis(900)).await;

    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("plaza.png"), dir.path().join("tavern.png"));
    let script = format!(
        "wait 1.5s; shot {}; walk north 3s; wait 0.5s; say hello from play; wait 2.5s; shot {}",
        a.display(),
        b.display()
    );
    let mut play = Command::new(gsp_bin())
        .args([
            "play",
            "--server",
            &world.quic.to_string(),
            "--pin",
            &world.fingerprint,
        ])
        .args([
            "--name",
            "player",
            "--size",
            &format!("{WIDTH}x{HEIGHT}"),
            "--echo",
        ])
        .args(["--script", &script, "--exit-after", "12"])
        .arg("--screenshot")
        .arg(dir.path().join("last.png"))
        .env("DISPLAY", &x.display)
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env("GSP_CONFIG_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gsp play");
    // Read its stdout on a thread; note where the server had everyone at
    // each screenshot.
    let stdout = play.stdout.take().unwrap();
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let shots: Arc<Mutex<HashMap<String, Positions>>> = Arc::default();
    let reader = {
        let (lines, shots, seen) = (lines.clone(), shots.clone(), seen.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(path) = line.strip_prefix("screenshot ") {
                    let at = seen.lock().unwrap().clone();
                    shots.lock().unwrap().insert(path.to_owned(), at);
                }
                lines.lock().unwrap().push(line);
            }
        })
    };

    tess.expect_within("player arrives from the south.", Duration::from_secs(30))
        .await;
    tess.send("say welcome, player").await;
    tess.expect("player says, \"hello from play\"").await;

    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = play.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "gsp play did not exit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    reader.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut play.stderr.take().unwrap(), &mut stderr).unwrap();
    let out = lines.lock().unwrap().join("\n");
    assert!(
        status.success(),
        "gsp play failed: {status}\n{out}\n{stderr}"
    );
    // The telnet player's words reached the client's text panel.
    assert!(
        out.contains("text: tess says, \"welcome, player\""),
        "{out}"
    );
    assert!(out.contains("text: The Plaza"), "{out}");
    watching.abort();

    if let Ok(keep) = std::env::var("GSP_KEEP_SCREENSHOTS") {
        for f in [&a, &b] {
            std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap())).unwrap();
        }
    }
    let shots = shots.lock().unwrap().clone();
    let at = |path: &Path| shots[path.to_str().unwrap()].clone();

    // In the plaza: the floor in its colour, the watcher's avatar where the
    // server says it stands, and our own in the middle.
    let (img, pos) = (load(&a), at(&a));
    let me = pos["player"];
    let them = pos["watcher"];
    assert!(me[2].abs() < 2.0 && them[2] > 0.5, "{pos:?}");
    let mut failures = Vec::new();
    let mut check = |what: &str, r: Result<(), String>| {
        if let Err(e) = r {
            failures.push(format!("{what}: {e}"));
        }
    };
    check(
        "plaza floor",
        pixel_near(&img, on_screen(me, [-3.0, 0.0, 6.0]), PLAZA_FLOOR, 12),
    );
    check(
        "the watcher",
        pixel_near(
            &img,
            on_screen(me, [them[0], them[1] + 0.9, them[2]]),
            AVATAR,
            12,
        ),
    );
    check(
        "our avatar",
        pixel_near(&img, on_screen(me, [me[0], me[1] + 0.9, me[2]]), AVATAR, 12),
    );

    // After the walk: in the tavern, on its wooden floor, tess nearby.
    let (img, pos) = (load(&b), at(&b));
    let me = pos["player"];
    assert!(me[2] > 12.0, "walked north into the tavern: {pos:?}");
    check(
        "tavern floor",
        pixel_near(
            &img,
            on_screen(me, [me[0] + 1.5, 0.0, me[2] + 5.0]),
            TAVERN_FLOOR,
            12,
        ),
    );
    check(
        "our avatar in the tavern",
        pixel_near(&img, on_screen(me, [me[0], me[1] + 0.9, me[2]]), AVATAR, 12),
    );
    assert!(
        failures.is_empty(),
        "{}\n(screenshots in {}; kept)",
        failures.join("\n"),
        dir.keep().display()
    );
}
