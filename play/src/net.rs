//! The network side of `gsp play`: one thread with its own async runtime
//! that logs in, sends the player's input every tick, and keeps the
//! [`Shared`] state the window draws from: the scene (map, names, text),
//! the snapshots fed to the interpolator, and the prediction of the
//! player's own avatar.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gsp_client::interpolation::{Interpolator, ServerClock};
use gsp_client::prediction::Predictor;
use gsp_client::scene::Scene;
use gsp_client::{Client, ClientError, ConnectOptions, Trust};
use gsp_protocol::snapshot::Receipt;
use gsp_protocol::{EventKind, RefusalCode, ServerDatagram};
use tokio::sync::mpsc;

use crate::known::KnownServers;

/// How the server's certificate is trusted.
#[derive(Debug, Clone, PartialEq)]
pub enum TrustChoice {
    /// Only the certificate with this fingerprint (`--pin`).
    Pin([u8; 32]),
    /// The fingerprint remembered in `known` for this server; on first
    /// use, whatever it shows, remembered from then on.
    FirstUse {
        /// Where the remembered fingerprints live; `None`: nowhere (not remembered).
        known: Option<PathBuf>,
        /// Trust a certificate that differs from the remembered one, and
        /// remember it instead (the player said so after a warning).
        replace: bool,
    },
}

/// Who logs in where.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// `HOST:PORT`.
    pub server: String,
    /// The player's name.
    pub name: String,
    /// The account's password; `None` plays as a guest.
    pub password: Option<String>,
    /// Create the account.
    pub create: bool,
    /// How to trust the server.
    pub trust: TrustChoice,
    /// Print every line of text to stdout (`text: ...`), for automation.
    pub echo: bool,
}

/// Where the connection stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Connecting since then (a sleeping world is woken by the connection).
    Connecting(Instant),
    /// Logged in and playing.
    Playing,
    /// The server refused the login.
    Refused {
        /// Its code.
        code: RefusalCode,
        /// Its words.
        reason: String,
    },
    /// The server's certificate is not the one remembered for it.
    CertificateChanged,
    /// Connecting failed, or the connection ended.
    Failed(String),
}

/// What the window draws from, updated by the network thread.
#[derive(Debug)]
pub struct Shared {
    /// The connection.
    pub status: Status,
    /// The map, names and text.
    pub scene: Scene,
    /// Other entities, drawn a little in the past.
    pub interpolator: Interpolator,
    /// The server's tick, estimated from arrivals.
    pub clock: Option<ServerClock>,
    /// The player's own avatar, moved at once.
    pub predictor: Option<Predictor>,
    /// The player's own avatar's id.
    pub own: Option<u32>,
    /// Where the server last put it.
    pub server_own: Option<[f32; 3]>,
    /// The newest round trip.
    pub rtt_ms: Option<f64>,
    /// Snapshot arrivals within the last second.
    arrivals: VecDeque<Instant>,
    /// The movement the window wants, `[x, z]`.
    pub intent: [f32; 2],
    /// The server's fingerprint.
    pub fingerprint: Option<String>,
}

impl Shared {
    fn new() -> Self {
        Shared {
            status: Status::Connecting(Instant::now()),
            scene: Scene::new(),
            interpolator: Interpolator::default(),
            clock: None,
            predictor: None,
            own: None,
            server_own: None,
            rtt_ms: None,
            arrivals: VecDeque::new(),
            intent: [0.0, 0.0],
            fingerprint: None,
        }
    }

    /// Snapshots received in the last second.
    pub fn snapshot_rate(&mut self, now: Instant) -> usize {
        while self
            .arrivals
            .front()
            .is_some_and(|&t| now.duration_since(t) > Duration::from_secs(1))
        {
            self.arrivals.pop_front();
        }
        self.arrivals.len()
    }

    fn say(&mut self, kind: EventKind, text: &str, echo: bool) {
        for line in text.lines() {
            if echo {
                println!("text: {line}");
            }
            self.scene.push_line(kind, line);
        }
    }
}

enum Request {
    Line(String),
    Quit,
}

/// A running connection.
pub struct Net {
    shared: Arc<Mutex<Shared>>,
    requests: mpsc::UnboundedSender<Request>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Net {
    /// Starts connecting on a thread of its own.
    pub fn start(login: Login) -> Net {
        let shared = Arc::new(Mutex::new(Shared::new()));
        let (tx, rx) = mpsc::unbounded_channel();
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("gsp-play-net".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        lock(&state).status = Status::Failed(format!("async runtime: {e}"));
                        return;
                    }
                };
                rt.block_on(run(login, state, rx));
            })
            .expect("spawn the network thread");
        Net {
            shared,
            requests: tx,
            thread: Some(thread),
        }
    }

    /// The shared state, locked.
    pub fn lock(&self) -> MutexGuard<'_, Shared> {
        lock(&self.shared)
    }

    /// Sends a command line.
    pub fn command(&self, line: &str) {
        let _ = self.requests.send(Request::Line(line.to_owned()));
    }

    /// Closes the connection and waits (briefly) for the thread.
    pub fn quit(mut self) {
        let _ = self.requests.send(Request::Quit);
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + Duration::from_millis(500);
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a failed connection means for the player.
fn failure(e: &ClientError, pinned_or_known: bool) -> Status {
    match e {
        ClientError::Refused { code, reason } => Status::Refused {
            code: *code,
            reason: reason.clone(),
        },
        ClientError::Connection(c) if pinned_or_known && c.to_string().contains("fingerprint") => {
            Status::CertificateChanged
        }
        ClientError::Connection(c)
            if pinned_or_known && c.to_string().to_lowercase().contains("certificate") =>
        {
            Status::CertificateChanged
        }
        other => Status::Failed(other.to_string()),
    }
}

async fn run(
    login: Login,
    shared: Arc<Mutex<Shared>>,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let fail = |why: String| lock(&shared).status = Status::Failed(why);
    let server = match tokio::net::lookup_host(&login.server)
        .await
        .map(|mut a| a.next())
    {
        Ok(Some(a)) => a,
        Ok(None) | Err(_) => return fail(format!("cannot resolve {}", login.server)),
    };
    let (trust, remembered, known_path) = match &login.trust {
        TrustChoice::Pin(pin) => (Trust::Fingerprint(*pin), true, None),
        TrustChoice::FirstUse { known, replace } => {
            let list = known
                .as_deref()
                .map(KnownServers::load)
                .transpose()
                .unwrap_or_default()
                .unwrap_or_default();
            match list
                .get(&login.server)
                .and_then(gsp_client::parse_fingerprint)
            {
                Some(pin) if !replace => (Trust::Fingerprint(pin), true, known.clone()),
                _ => (Trust::Insecure, false, known.clone()),
            }
        }
    };
    let options = match (&login.password, login.create) {
        (Some(p), true) => ConnectOptions::create(&login.name, p),
        (Some(p), false) => ConnectOptions::password(&login.name, p),
        (None, _) => ConnectOptions::guest(&login.name),
    };
    // A sleeping world is woken by the connection; its proxy holds us meanwhile.
    let connected = tokio::time::timeout(
        Duration::from_secs(60),
        Client::connect_as(server, &options, &trust),
    )
    .await;
    let mut client = match connected {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            lock(&shared).status = failure(&e, remembered);
            return;
        }
        Err(_) => return fail("the server did not answer within a minute".into()),
    };
    let fingerprint = client.server_fingerprint();
    {
        let mut s = lock(&shared);
        s.status = Status::Playing;
        s.own = Some(client.entity_id);
        s.predictor = Some(Predictor::new(client.walk_speed, client.tick_rate));
        s.clock = Some(ServerClock::new(client.tick_rate));
        s.fingerprint = fingerprint.clone();
        if !remembered {
            if let (Some(path), Some(pin)) = (&known_path, &fingerprint) {
                let mut list = KnownServers::load(path).unwrap_or_default();
                list.set(&login.server, pin);
                let note = match list.save(path) {
                    Ok(()) => format!(
                        "Trusting {} on first use: its certificate is sha256={pin}. \
                         If you did not expect a new server, ask its operator for the \
                         fingerprint and compare.",
                        login.server
                    ),
                    Err(e) => format!("could not remember the server's certificate: {e}"),
                };
                s.say(EventKind::Error, &note, login.echo);
            }
        }
    }
    let tick = Duration::from_secs_f64(1.0 / f64::from(client.tick_rate.max(1)));
    let mut input_every = tokio::time::interval(tick);
    input_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ping_every = tokio::time::interval(Duration::from_millis(500));
    let origin = Instant::now();
    let datagrams = client.datagrams();
    let end = loop {
        let mut line: Option<String> = None;
        tokio::select! {
            _ = input_every.tick() => {
                let mv = lock(&shared).intent;
                match client.send_input(mv[0], mv[1]) {
                    Ok(seq) => {
                        if let Some(p) = lock(&shared).predictor.as_mut() {
                            p.apply_input(seq, mv);
                        }
                    }
                    Err(e) => break e.to_string(),
                }
            }
            _ = ping_every.tick() => {
                let _ = client.ping(origin.elapsed().as_nanos() as u64);
            }
            d = datagrams.next_datagram() => match d {
                Ok(ServerDatagram::Snapshot { header, payload }) => {
                    let receipt = client.apply_snapshot(&header, &payload);
                    let mut s = lock(&shared);
                    let now = Instant::now();
                    match receipt {
                        Ok(Receipt::Newest) => {
                            s.arrivals.push_back(now);
                            if let Some(c) = s.clock.as_mut() {
                                c.observe(header.tick, now);
                            }
                            let view = client.replica().latest();
                            if let Some(me) = view.get(client.entity_id) {
                                let at = client.quantizer().position_of(me.state.position);
                                s.server_own = Some(at);
                                if let Some(p) = s.predictor.as_mut() {
                                    p.reconcile(header.last_input, at);
                                }
                            }
                            s.interpolator.push_view(view, client.quantizer(), true);
                        }
                        Ok(Receipt::Older) => {
                            if let Some(view) = client.replica().view(header.sequence) {
                                s.interpolator.push_view(view, client.quantizer(), false);
                            }
                        }
                        Ok(Receipt::Duplicate) => {}
                        Err(e) => tracing::debug!(error = %e, "undecodable snapshot"),
                    }
                }
                Ok(ServerDatagram::Pong { nonce }) => {
                    let now = origin.elapsed().as_nanos() as u64;
                    lock(&shared).rtt_ms = Some(now.saturating_sub(nonce) as f64 / 1e6);
                }
                Err(e) => break e.to_string(),
            },
            event = client.next_event() => match event {
                Some(Ok(message)) => {
                    let mut s = lock(&shared);
                    if let gsp_protocol::ServerMessage::Event { text, .. } = &message {
                        if login.echo {
                            for l in text.lines() {
                                println!("text: {l}");
                            }
                        }
                    }
                    if let Err(e) = s.scene.apply(&message) {
                        break format!("the server sent a broken map: {e}");
                    }
                }
                Some(Err(e)) => break e.to_string(),
                None => break "the server ended the session".into(),
            },
            request = requests.recv() => match request {
                Some(Request::Line(l)) => line = Some(l),
                Some(Request::Quit) | None => {
                    client.close();
                    // Let the close reach the server.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    return;
                }
            },
        }
        if let Some(l) = line {
            if let Err(e) = client.command(&l).await {
                break e.to_string();
            }
        }
    };
    let code = tokio::time::timeout(Duration::from_millis(200), client.closed())
        .await
        .ok()
        .and_then(|(c, _)| c);
    let why = match code {
        Some(c) => format!("disconnected: {}", c.describe()),
        None => format!("disconnected: {end}"),
    };
    let mut s = lock(&shared);
    s.say(EventKind::Error, &why, login.echo);
    s.status = Status::Failed(why);
}
