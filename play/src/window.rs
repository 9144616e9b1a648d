//! The window: a login screen, then the 3D view of the world with its text
//! panel, drawn with macroquad.
//!
//! Each frame reads the [`Shared`] state: the map's solids (built into
//! meshes once), every other entity interpolated 100 ms in the past, the
//! player's own avatar where prediction puts it, names over their heads;
//! then the text panel with its input line, the room's name and exits, and
//! the connection's status. Keys: W/A/S/D walk (relative to the camera),
//! the right mouse button (or the arrow keys) turns the camera, Enter opens
//! the input line and sends it, Escape leaves it.

use std::time::{Duration, Instant};

use gsp_client::scene::Scene;
use gsp_protocol::map::{MapData, ShapeKind};
use gsp_protocol::{EventKind, RefusalCode};
use macroquad::prelude::*;

use crate::net::{Login, Net, Shared, Status, TrustChoice};
use crate::script::{Action, ScriptRunner};
use crate::view::{self, Follow};
use crate::Options;

/// How far behind the server's newest tick others are drawn.
const INTERPOLATION_DELAY: Duration = Duration::from_millis(100);
/// Text panel lines shown.
const PANEL_LINES: usize = 10;
/// The share of the window's width the text panel takes, from the left.
const PANEL_WIDTH: f32 = 0.42;
const FONT: f32 = 18.0;
const LINE: f32 = 20.0;

/// `0xRRGGBB` as a colour, scaled by `shade`.
fn colour(rgb: u32, shade: f32) -> Color {
    let c = |shift: u32| (((rgb >> shift) & 0xff) as f32 / 255.0 * shade).min(1.0);
    Color::new(c(16), c(8), c(0), 1.0)
}

/// A box's faces as a mesh: corners turned by `rotation` (world frame),
/// each face shaded by which way it faces, the top at full colour.
fn push_box(
    mesh: &mut Mesh,
    center: [f32; 3],
    half: [f32; 3],
    rotation: [f32; 4],
    rgb: u32,
    shaded: bool,
) {
    let q = macroquad::math::Quat::from_xyzw(rotation[0], rotation[1], rotation[2], rotation[3])
        .normalize();
    let c = macroquad::math::Vec3::from(center);
    let h = macroquad::math::Vec3::from(half);
    // Faces: normal axis and sign; the four corners of each.
    const FACES: [([f32; 3], [[f32; 3]; 4]); 6] = [
        (
            [0.0, 1.0, 0.0],
            [
                [-1.0, 1.0, -1.0],
                [1.0, 1.0, -1.0],
                [1.0, 1.0, 1.0],
                [-1.0, 1.0, 1.0],
            ],
        ),
        (
            [0.0, -1.0, 0.0],
            [
                [-1.0, -1.0, -1.0],
                [-1.0, -1.0, 1.0],
                [1.0, -1.0, 1.0],
                [1.0, -1.0, -1.0],
            ],
        ),
        (
            [1.0, 0.0, 0.0],
            [
                [1.0, -1.0, -1.0],
                [1.0, -1.0, 1.0],
                [1.0, 1.0, 1.0],
                [1.0, 1.0, -1.0],
            ],
        ),
        (
            [-1.0, 0.0, 0.0],
            [
                [-1.0, -1.0, -1.0],
                [-1.0, 1.0, -1.0],
                [-1.0, 1.0, 1.0],
                [-1.0, -1.0, 1.0],
            ],
        ),
        (
            [0.0, 0.0, 1.0],
            [
                [-1.0, -1.0, 1.0],
                [-1.0, 1.0, 1.0],
                [1.0, 1.0, 1.0],
                [1.0, -1.0, 1.0],
            ],
        ),
        (
            [0.0, 0.0, -1.0],
            [
                [-1.0, -1.0, -1.0],
                [1.0, -1.0, -1.0],
                [1.0, 1.0, -1.0],
                [-1.0, 1.0, -1.0],
            ],
        ),
    ];
    for (normal, corners) in FACES {
        let n = q * macroquad::math::Vec3::from(normal);
        let shade = if shaded {
            n.y.max(0.0) + 0.78 * n.x.abs() + 0.64 * n.z.abs() + 0.45 * (-n.y).max(0.0)
        } else {
            1.0
        };
        let col = colour(rgb, shade);
        let base = mesh.vertices.len() as u16;
        for k in corners {
            let local = macroquad::math::Vec3::from(k) * h;
            let world = c + q * local;
            let r = view::to_render(world.to_array());
            mesh.vertices
                .push(Vertex::new(r.x, r.y, r.z, 0.0, 0.0, col));
        }
        mesh.indices
            .extend_from_slice(&[base, base + 1, base + 2, base, base + 2, base + 3]);
    }
}

fn empty_mesh() -> Mesh {
    Mesh {
        vertices: Vec::new(),
        indices: Vec::new(),
        texture: None,
    }
}

/// The map's solids as meshes (each under the 16-bit index limit).
fn map_meshes(map: &MapData) -> Vec<Mesh> {
    let mut meshes = vec![empty_mesh()];
    for s in &map.solids {
        if meshes
            .last()
            .is_some_and(|m| m.vertices.len() + 24 > u16::MAX as usize)
        {
            meshes.push(empty_mesh());
        }
        let rgb = if s.colour == 0 {
            gsp_client::scene::DEFAULT_COLOUR
        } else {
            s.colour
        };
        let mesh = meshes.last_mut().expect("one mesh at least");
        push_box(mesh, s.center, s.half, s.rotation, rgb, true);
    }
    meshes
}

/// The view-projection matrix as a macroquad camera.
struct MatrixCamera(Mat4);

impl Camera for MatrixCamera {
    fn matrix(&self) -> Mat4 {
        self.0
    }
    fn depth_enabled(&self) -> bool {
        true
    }
    fn render_pass(&self) -> Option<RenderPass> {
        None
    }
    fn viewport(&self) -> Option<(i32, i32, i32, i32)> {
        None
    }
}

/// One entity to draw this frame.
struct Drawable {
    id: u32,
    kind: u8,
    position: [f32; 3],
}

/// Draws one entity; returns where its name goes (world, above it).
fn draw_entity(scene: &Scene, e: &Drawable) -> [f32; 3] {
    let d = scene.look_of(e.id, e.kind);
    let [w, h, l] = d.look.size;
    let p = e.position;
    // Centre of the shape.
    let center = if d.at_feet {
        [p[0], p[1] + h * 0.5, p[2]]
    } else {
        p
    };
    match d.look.shape {
        ShapeKind::Ball => {
            draw_sphere(
                view::to_render(center),
                w * 0.5,
                None,
                colour(d.colour, 1.0),
            );
        }
        ShapeKind::Capsule => {
            let r = w * 0.5;
            let body = (h - 2.0 * r).max(0.0);
            let mut mesh = empty_mesh();
            push_box(
                &mut mesh,
                [center[0], center[1] - r * 0.5, center[2]],
                [r, (body + r) * 0.5, r],
                [0.0, 0.0, 0.0, 1.0],
                d.colour,
                false,
            );
            draw_mesh(&mesh);
            draw_sphere(
                view::to_render([center[0], center[1] + body * 0.5, center[2]]),
                r,
                None,
                colour(d.colour, 1.0),
            );
        }
        _ => {
            let mut mesh = empty_mesh();
            push_box(
                &mut mesh,
                center,
                [w * 0.5, h * 0.5, l * 0.5],
                [0.0, 0.0, 0.0, 1.0],
                d.colour,
                false,
            );
            draw_mesh(&mesh);
        }
    }
    [center[0], center[1] + h * 0.5 + 0.3, center[2]]
}

/// The login screen's fields.
#[derive(Debug, Clone, Default)]
struct Form {
    server: String,
    name: String,
    password: String,
    create: bool,
    pin: String,
    focus: usize,
    message: Option<String>,
}

impl Form {
    const FIELDS: usize = 4;

    fn field(&mut self) -> Option<&mut String> {
        match self.focus {
            0 => Some(&mut self.server),
            1 => Some(&mut self.name),
            2 => Some(&mut self.password),
            3 => Some(&mut self.pin),
            _ => None,
        }
    }

    fn login(&self, options: &Options, replace: bool) -> Result<Login, String> {
        if self.server.trim().is_empty() || self.name.trim().is_empty() {
            return Err("a server and a name are needed".into());
        }
        let trust = if self.pin.trim().is_empty() {
            TrustChoice::FirstUse {
                known: options.known_servers.clone(),
                replace,
            }
        } else {
            TrustChoice::Pin(
                gsp_client::parse_fingerprint(self.pin.trim())
                    .ok_or("the pin is 64 hex digits (a SHA-256)")?,
            )
        };
        Ok(Login {
            server: self.server.trim().to_owned(),
            name: self.name.trim().to_owned(),
            password: (!self.password.is_empty()).then(|| self.password.clone()),
            create: self.create,
            trust,
            echo: options.echo,
        })
    }
}

fn draw_login(form: &Form) {
    clear_background(Color::from_rgba(28, 32, 40, 255));
    let x = 60.0;
    let mut y = 80.0;
    draw_text("GSP: join a world", x, y, 32.0, WHITE);
    y += 50.0;
    let labels = [
        "Server (HOST:PORT)",
        "Name",
        "Password (empty: guest)",
        "Pin SHA256 (empty: trust on first use)",
    ];
    for (i, label) in labels.iter().enumerate() {
        draw_text(label, x, y, FONT, LIGHTGRAY);
        y += 8.0;
        let value = match i {
            0 => form.server.clone(),
            1 => form.name.clone(),
            2 => "*".repeat(form.password.chars().count()),
            _ => form.pin.clone(),
        };
        let border = if form.focus == i { YELLOW } else { GRAY };
        draw_rectangle_lines(x, y, 620.0, 28.0, 2.0, border);
        let cursor = if form.focus == i { "_" } else { "" };
        draw_text(format!("{value}{cursor}"), x + 8.0, y + 20.0, FONT, WHITE);
        y += 50.0;
    }
    let tick = if form.create { "[x]" } else { "[ ]" };
    draw_text(
        format!("{tick} create this account (F2)"),
        x,
        y,
        FONT,
        WHITE,
    );
    y += 40.0;
    draw_text(
        "Tab: next field   Enter: connect   Esc: quit",
        x,
        y,
        FONT,
        LIGHTGRAY,
    );
    if let Some(m) = &form.message {
        draw_text(m, x, y + 40.0, FONT, Color::from_rgba(255, 120, 100, 255));
    }
}

/// Where the text panel is on a `width` by `height` window: (x, y, width,
/// height) from the top left. The player's own avatar, in the middle, stays clear of it.
pub fn panel_rect(width: f32, height: f32) -> (f32, f32, f32, f32) {
    let h = LINE * (PANEL_LINES as f32 + 1.0) + 14.0;
    (0.0, height - h, width * PANEL_WIDTH, h)
}

/// The height of the banner at the top with the room's name and exits.
pub const TOP_BANNER: f32 = 52.0;

/// What `gsp play` ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The player quit, or the automation ran to its end.
    Done,
    /// Never got to play, or lost the connection: why.
    Failed(String),
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out
}

fn text_colour(kind: EventKind) -> Color {
    match kind {
        EventKind::Error => Color::from_rgba(255, 130, 110, 255),
        EventKind::Say => Color::from_rgba(255, 240, 170, 255),
        EventKind::Room => Color::from_rgba(170, 220, 255, 255),
        EventKind::Arrive | EventKind::Depart => Color::from_rgba(190, 255, 190, 255),
        _ => WHITE,
    }
}

fn status_line(shared: &mut Shared, now: Instant) -> String {
    let rate = shared.snapshot_rate(now);
    let rtt = shared.rtt_ms.map_or("-".into(), |r| format!("{r:.0} ms"));
    let state = match &shared.status {
        Status::Connecting(_) => "connecting",
        Status::Playing => "connected",
        Status::Refused { .. } => "refused",
        Status::CertificateChanged => "certificate changed",
        Status::Failed(_) => "disconnected",
    };
    format!("{state} | RTT {rtt} | {rate} snapshots/s")
}

/// A message in the middle of the screen, over everything.
fn banner(lines: &[String]) {
    let (w, h) = (screen_width(), screen_height());
    let height = LINE * lines.len() as f32 + 30.0;
    draw_rectangle(
        40.0,
        h * 0.4 - 20.0,
        w - 80.0,
        height,
        Color::new(0.0, 0.0, 0.0, 0.75),
    );
    for (i, l) in lines.iter().enumerate() {
        draw_text(l, 60.0, h * 0.4 + 5.0 + LINE * i as f32, FONT + 2.0, WHITE);
    }
}

/// Runs the window until the player quits or the automation ends.
pub async fn main_loop(options: Options) -> Outcome {
    let mut form = Form {
        server: options
            .server
            .clone()
            .unwrap_or_else(|| "127.0.0.1:4433".into()),
        name: options.name.clone().unwrap_or_default(),
        password: options.password.clone().unwrap_or_default(),
        create: options.create,
        pin: options.pin.clone().unwrap_or_default(),
        ..Form::default()
    };
    let automated = options.server.is_some() && options.name.is_some();
    let mut net: Option<Net> = None;
    if automated {
        match form.login(&options, false) {
            Ok(login) => net = Some(Net::start(login)),
            Err(e) => return Outcome::Failed(e),
        }
    }
    let started = Instant::now();
    let mut follow = Follow::default();
    let mut meshes: Option<Vec<Mesh>> = None;
    let mut typing: Option<String> = None;
    let mut script = options.script.clone().map(ScriptRunner::new);
    let mut playing_since: Option<Instant> = None;
    let mut last_mouse = mouse_position();
    let mut shot: Option<String> = None;
    let mut rendered = Vec::new();
    loop {
        let now = Instant::now();
        let Some(connection) = net.as_ref() else {
            // The login screen.
            while let Some(c) = get_char_pressed() {
                if !c.is_control() {
                    if let Some(f) = form.field() {
                        f.push(c);
                    }
                }
            }
            if is_key_pressed(KeyCode::Backspace) {
                if let Some(f) = form.field() {
                    f.pop();
                }
            }
            if is_key_pressed(KeyCode::Tab) {
                form.focus = (form.focus + 1) % Form::FIELDS;
            }
            if is_key_pressed(KeyCode::F2) {
                form.create = !form.create;
            }
            if is_key_pressed(KeyCode::Escape) {
                return Outcome::Done;
            }
            if is_key_pressed(KeyCode::Enter) {
                match form.login(&options, false) {
                    Ok(login) => {
                        form.message = None;
                        net = Some(Net::start(login));
                    }
                    Err(e) => form.message = Some(e),
                }
            }
            draw_login(&form);
            next_frame().await;
            continue;
        };

        // Input: keys walk and turn unless the input line is open.
        let (mx, my) = mouse_position();
        if is_mouse_button_down(MouseButton::Right) {
            follow.turn((mx - last_mouse.0) * 0.005, (my - last_mouse.1) * 0.005);
        }
        last_mouse = (mx, my);
        let mut intent = [0.0, 0.0];
        let mut send_line: Option<String> = None;
        if let Some(line) = typing.as_mut() {
            while let Some(c) = get_char_pressed() {
                if !c.is_control() && line.len() < gsp_protocol::limits::MAX_COMMAND_BYTES {
                    line.push(c);
                }
            }
            if is_key_pressed(KeyCode::Backspace) {
                line.pop();
            }
            if is_key_pressed(KeyCode::Enter) {
                send_line = typing.take().filter(|l| !l.trim().is_empty());
            } else if is_key_pressed(KeyCode::Escape) {
                typing = None;
            }
        } else {
            while get_char_pressed().is_some() {}
            let axis = |plus: KeyCode, minus: KeyCode| {
                f32::from(u8::from(is_key_down(plus))) - f32::from(u8::from(is_key_down(minus)))
            };
            intent = follow.intent(axis(KeyCode::W, KeyCode::S), axis(KeyCode::D, KeyCode::A));
            let turn = axis(KeyCode::Right, KeyCode::Left);
            follow.turn(turn * 2.0 * get_frame_time(), 0.0);
            if is_key_pressed(KeyCode::Enter) {
                typing = Some(String::new());
            }
            if is_key_pressed(KeyCode::Escape) && !automated {
                if let Some(n) = net.take() {
                    n.quit();
                }
                meshes = None;
                playing_since = None;
                continue;
            }
        }

        let (problem, failed, failure_text) = {
            let mut shared = connection.lock();
            let map_ready = shared.scene.map().is_some() && shared.status == Status::Playing;
            if map_ready && playing_since.is_none() {
                playing_since = Some(now);
            }
            // The script drives once the world has been drawn.
            if let (Some(runner), Some(since)) = (script.as_mut(), playing_since) {
                for action in runner.poll(now.duration_since(since).as_secs_f64()) {
                    match action {
                        Action::Command(c) => {
                            shared.scene.push_line(EventKind::Info, &format!("> {c}"));
                            connection.command(&c);
                        }
                        Action::Turn(deg) => follow.turn(deg.to_radians(), 0.0),
                        Action::Shot(path) => shot = Some(path),
                    }
                }
                let w = runner.walking();
                if w != [0.0, 0.0] {
                    intent = w;
                }
            }
            shared.intent = intent;
            if let Some(line) = send_line {
                shared
                    .scene
                    .push_line(EventKind::Info, &format!("> {line}"));
                connection.command(&line);
            }
            if meshes.is_none() {
                meshes = shared.scene.map().map(map_meshes);
            }

            // The 3D view.
            clear_background(Color::from_rgba(140, 180, 220, 255));
            let (w, h) = (screen_width(), screen_height());
            let own = shared.own;
            let dt = get_frame_time();
            let me = shared.predictor.as_mut().map(|p| {
                p.decay(dt);
                p.render_position()
            });
            let me = shared.server_own.and(me);
            let mut names: Vec<([f32; 3], String)> = Vec::new();
            if let Some(feet) = me {
                set_camera(&MatrixCamera(follow.matrix(feet, w, h)));
                for m in meshes.iter().flatten() {
                    draw_mesh(m);
                }
                if let Some(at) = shared
                    .clock
                    .as_ref()
                    .and_then(|c| c.render_tick(now, INTERPOLATION_DELAY))
                {
                    shared.interpolator.sample(at, &mut rendered);
                }
                let own_kind = rendered
                    .iter()
                    .find(|e| Some(e.id) == own)
                    .map_or(0, |e| e.kind);
                let mut drawables: Vec<Drawable> = rendered
                    .iter()
                    .filter(|e| Some(e.id) != own)
                    .map(|e| Drawable {
                        id: e.id,
                        kind: e.kind,
                        position: e.position,
                    })
                    .collect();
                if let Some(id) = own {
                    drawables.push(Drawable {
                        id,
                        kind: own_kind,
                        position: feet,
                    });
                }
                for d in &drawables {
                    let top = draw_entity(&shared.scene, d);
                    if let Some(name) = shared.scene.name_of(d.id) {
                        names.push((top, name.to_owned()));
                    }
                }
                set_default_camera();
                let m = follow.matrix(feet, w, h);
                for (top, name) in &names {
                    if let Some([sx, sy]) = view::project(&m, *top, w, h) {
                        let size = measure_text(name, None, FONT as u16, 1.0);
                        draw_text(name, sx - size.width * 0.5, sy, FONT, WHITE);
                    }
                }
            } else {
                set_default_camera();
            }

            // Room, exits and status.
            if let Some(room) = me.and_then(|p| shared.scene.room_at(p)) {
                let map = shared.scene.map().expect("a room implies a map");
                let exits: Vec<String> = room
                    .exits
                    .iter()
                    .map(|e| {
                        let d = ["north", "east", "south", "west", "up", "down"];
                        let to = &map.rooms[usize::from(e.to)].title;
                        format!(
                            "{} ({to})",
                            d.get(usize::from(e.direction.0)).unwrap_or(&"?")
                        )
                    })
                    .collect();
                draw_rectangle(0.0, 0.0, w, TOP_BANNER, Color::new(0.0, 0.0, 0.0, 0.55));
                draw_text(&room.title, 12.0, 24.0, 26.0, WHITE);
                draw_text(
                    format!("Exits: {}", exits.join(", ")),
                    12.0,
                    44.0,
                    FONT,
                    LIGHTGRAY,
                );
            }
            let status = status_line(&mut shared, now);
            let size = measure_text(&status, None, FONT as u16, 1.0);
            draw_text(&status, w - size.width - 12.0, 24.0, FONT, WHITE);

            // The text panel and its input line.
            let (px, py, pw, ph) = panel_rect(w, h);
            let chars = ((pw - 20.0) / (FONT * 0.5)).max(20.0) as usize;
            let mut lines: Vec<(EventKind, String)> = Vec::new();
            for l in shared.scene.lines().rev() {
                for (i, part) in wrap(&l.text, chars).into_iter().enumerate().rev() {
                    let _ = i;
                    lines.push((l.kind, part));
                }
                if lines.len() >= PANEL_LINES {
                    break;
                }
            }
            lines.truncate(PANEL_LINES);
            draw_rectangle(px, py, pw, ph, Color::new(0.0, 0.0, 0.0, 0.5));
            for (i, (kind, text)) in lines.iter().enumerate() {
                let y = h - 14.0 - LINE * (i as f32 + 1.0);
                draw_text(text, 10.0, y, FONT, text_colour(*kind));
            }
            let prompt = match &typing {
                Some(line) => format!("> {line}_"),
                None => "Enter: type a command (say, look, help...)".into(),
            };
            draw_text(
                &prompt,
                10.0,
                h - 8.0,
                FONT,
                if typing.is_some() { YELLOW } else { GRAY },
            );

            // Why we are not playing, when we are not.
            let problem = match &shared.status {
            Status::Connecting(since) if now.duration_since(*since) > Duration::from_millis(1500) => {
                Some(vec![
                    format!("Connecting to {}...", form.server),
                    "A sleeping world wakes when someone connects: this can take a few seconds.".into(),
                ])
            }
            Status::Refused { code, reason } => Some(vec![
                match *code {
                    RefusalCode::ServerFull => "The world is full.".to_owned(),
                    RefusalCode::ShuttingDown => "The world is shutting down.".to_owned(),
                    _ => "The world refused you.".to_owned(),
                },
                reason.clone(),
                "R: try again   Esc: back to the login screen".into(),
            ]),
            Status::CertificateChanged => Some(vec![
                "WARNING: the server's certificate is not the one it had before.".into(),
                "Someone may be impersonating it, or its operator made a new one.".into(),
                "T: trust the new certificate   Esc: back".into(),
            ]),
            Status::Failed(why) => Some(vec![
                why.clone(),
                "R: try again   Esc: back to the login screen".into(),
            ]),
            _ => None,
        };
            let failed = matches!(
                shared.status,
                Status::Refused { .. } | Status::CertificateChanged | Status::Failed(_)
            );
            let failure_text = problem.as_ref().map(|p| p.join(" "));
            (problem, failed, failure_text)
        };
        if let Some(lines) = &problem {
            banner(lines);
        }

        // Screenshots and the end of automation.
        let deadline = options
            .exit_after
            .map(|secs| playing_since.unwrap_or(started + Duration::from_secs(30)) + secs);
        let ending = deadline.is_some_and(|d| now >= d)
            || (automated && failed && options.exit_after.is_some());
        if let Some(path) = shot
            .take()
            .or_else(|| ending.then(|| options.screenshot.clone()).flatten())
        {
            get_screen_data().export_png(&path);
            println!("screenshot {path}");
        }
        if ending {
            if let Some(n) = net.take() {
                n.quit();
            }
            return match (failed, failure_text) {
                (true, Some(why)) => Outcome::Failed(why),
                _ if playing_since.is_none() => Outcome::Failed("never got to play".into()),
                _ => Outcome::Done,
            };
        }
        if failed && typing.is_none() {
            let trust_new = is_key_pressed(KeyCode::T);
            if is_key_pressed(KeyCode::R) || trust_new {
                if let Some(n) = net.take() {
                    n.quit();
                }
                meshes = None;
                playing_since = None;
                match form.login(&options, trust_new) {
                    Ok(login) => net = Some(Net::start(login)),
                    Err(e) => form.message = Some(e),
                }
            }
        }
        next_frame().await;
    }
}
