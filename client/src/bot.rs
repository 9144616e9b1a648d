//! A swarm of headless bots, for tests and load.
//!
//! Each bot connects (connections are spread over the first second), then
//! until the deadline: sends a movement input every tick, wandering in a
//! direction it changes every few seconds (so it walks from room to room),
//! and predicts its own avatar from those inputs ([`Predictor`]); decodes
//! every snapshot, reconciles its prediction with the server's position and
//! records the error, and feeds the others to an [`Interpolator`] as a
//! renderer would; pings every 250 ms to measure the round trip; and now and
//! then says something or takes an exit. [`run_swarm`] gathers every bot's
//! counts into a [`SwarmReport`].
//!
//! Telnet bots ([`crate::telnet_bot`]) join the same swarm: they log in as
//! guests, take exits and talk. In *crowd mode* every bot stays in the
//! start room: graphical bots mill about within a few metres of where they
//! appeared, telnet bots take no exits. A share of the bots ([`SwarmConfig::talkers`])
//! says a line every [`SwarmConfig::talk_every`].
//!
//! The swarm also watches itself, so that a figure taken while it was the
//! bottleneck is marked as such: its own CPU time (from `/proc/self/stat`,
//! Linux), and how often a graphical bot's input tick came late by more than
//! half a tick. [`SwarmReport::saturated`] is set when either says the swarm
//! could not keep up.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gsp_protocol::snapshot::Receipt;
use gsp_protocol::ServerDatagram;
use serde::Serialize;

use crate::interpolation::{Interpolator, RenderEntity, ServerClock};
use crate::prediction::{ErrorStats, Predictor};
use crate::telnet_bot::{run_telnet_bot, TelnetPlan, TelnetResult};
use crate::{client_endpoint, Client, ClientError, Trust};

/// What a swarm should do.
#[derive(Debug, Clone)]
pub struct SwarmConfig {
    /// The world's QUIC address.
    pub server: SocketAddr,
    /// How many bots.
    pub count: usize,
    /// How long each bot plays once connected... measured from the swarm's start.
    pub duration: Duration,
    /// How to trust the server's certificate.
    pub trust: Trust,
    /// Bots are named `{prefix}{index}`.
    pub name_prefix: String,
    /// Bots per UDP socket (endpoint).
    pub bots_per_endpoint: usize,
    /// Telnet bots, and the world's telnet address (needed when there are any).
    pub telnet: usize,
    /// The world's telnet address.
    pub telnet_server: Option<SocketAddr>,
    /// Everyone stays in the start room.
    pub crowd: bool,
    /// The share of bots (0 to 1) that talk, every `talk_every`; the others
    /// say nothing (graphical bots outside crowd mode still chat now and then).
    pub talkers: f64,
    /// How often a talker says a line.
    pub talk_every: Duration,
    /// Over how long the bots start, evenly spread (at most half the
    /// duration): a thousand bots starting within one second measure the
    /// swarm's handshakes more than the world.
    pub ramp: Duration,
}

impl SwarmConfig {
    /// `count` graphical bots against `server`, for `duration`, wandering
    /// the world: no telnet bots, no crowd, no steady talkers.
    pub fn quic(server: SocketAddr, count: usize, duration: Duration, trust: Trust) -> Self {
        SwarmConfig {
            server,
            count,
            duration,
            trust,
            name_prefix: "bot".into(),
            bots_per_endpoint: 25,
            telnet: 0,
            telnet_server: None,
            crowd: false,
            talkers: 0.0,
            talk_every: Duration::from_secs(1),
            ramp: Duration::from_secs(1),
        }
    }
}

/// What a swarm measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SwarmReport {
    /// Bots asked for.
    pub bots: usize,
    /// Bots that were welcomed.
    pub connected: usize,
    /// Bots that could not connect, or whose connection failed before the end.
    pub failed: usize,
    /// Connected bots that received no snapshot at all.
    pub without_state: usize,
    /// Snapshots decoded per second per connected bot (mean).
    pub states_per_sec_per_bot: f64,
    /// Lowest snapshot rate of any connected bot.
    pub min_states_per_sec: f64,
    /// Snapshots that could not be decoded (should be 0).
    pub snapshot_errors: u64,
    /// Entities in a bot's view, mean over bots of their last view.
    pub entities_in_view: f64,
    /// Own-avatar prediction error when the server's position arrives,
    /// metres: mean, 99th percentile and largest over all bots.
    pub prediction_error_mean_m: f64,
    /// See `prediction_error_mean_m`.
    pub prediction_error_p99_m: f64,
    /// See `prediction_error_mean_m`.
    pub prediction_error_max_m: f64,
    /// Reconciliations measured.
    pub predictions_checked: u64,
    /// Share of reconciliations where the prediction was right to within
    /// quantization (5 mm); the rest are mostly walls the client does not know.
    pub prediction_exact_share: f64,
    /// Bytes received per second per connected bot (mean), UDP payloads
    /// including QUIC overhead.
    pub bytes_per_sec_per_bot: f64,
    /// Bytes sent per second per connected bot (mean).
    pub sent_bytes_per_sec_per_bot: f64,
    /// Ping round trip, median, in milliseconds.
    pub rtt_ms_p50: f64,
    /// Ping round trip, 99th percentile, in milliseconds.
    pub rtt_ms_p99: f64,
    /// Things bots said or did by command.
    pub commands_sent: u64,
    /// Stream events bots received (speech, arrivals, rooms...).
    pub events_received: u64,
    /// The first few errors, for diagnosis.
    pub errors: Vec<String>,
    /// Wall time of the run, seconds.
    pub elapsed_secs: f64,
    /// Telnet bots asked for.
    pub telnet_bots: usize,
    /// Telnet bots that logged in.
    pub telnet_connected: usize,
    /// Telnet bots that failed.
    pub telnet_failed: usize,
    /// Lines telnet bots read per second (all of them together).
    pub telnet_lines_per_sec: f64,
    /// Lines telnet bots said.
    pub telnet_said: u64,
    /// Lines telnet bots read per second once the swarm was steady (every
    /// bot started, two seconds for the last logins), all of them together.
    pub telnet_steady_lines_per_sec: f64,
    /// Stamped lines telnet bots heard once steady (each telnet bot's own speech
    /// included), for the latencies below.
    pub telnet_heard: u64,
    /// Speech latency, from the speaker's write to a listener's read,
    /// median, milliseconds.
    pub telnet_latency_ms_p50: f64,
    /// Speech latency, 99th percentile, milliseconds.
    pub telnet_latency_ms_p99: f64,
    /// The swarm's own CPU time over the run, in % of one core (0 where
    /// `/proc/self/stat` cannot be read).
    pub swarm_cpu_percent: f64,
    /// Cores the swarm could use.
    pub swarm_cores: usize,
    /// Share of graphical bots' input ticks that came more than half a tick late.
    pub late_input_share: f64,
    /// Whether the swarm itself could not keep up (CPU at ≥ 90 % of its
    /// cores, or ≥ 5 % of input ticks late): figures taken then measure the
    /// swarm as much as the world.
    pub saturated: bool,
}

#[derive(Debug, Default)]
struct BotResult {
    connected: bool,
    failed: bool,
    error: Option<String>,
    states: u64,
    active_secs: f64,
    rx_bytes: u64,
    tx_bytes: u64,
    rtts_ms: Vec<f64>,
    commands: u64,
    events: u64,
    snapshot_errors: u64,
    in_view: usize,
    errors: ErrorStats,
    input_ticks: u64,
    late_ticks: u64,
}

/// Runs the swarm to its end and reports.
pub async fn run_swarm(config: SwarmConfig) -> Result<SwarmReport, ClientError> {
    let start = Instant::now();
    let deadline = start + config.duration;
    let per = config.bots_per_endpoint.max(1);
    let endpoints: Vec<quinn::Endpoint> = (0..config.count.div_ceil(per))
        .map(|_| client_endpoint(&config.trust))
        .collect::<Result<_, _>>()?;
    let spread = config.ramp.min(config.duration / 2);
    let cpu_before = cpu_seconds();
    let talker = |i: usize| {
        let every = (1.0 / config.talkers.clamp(0.0, 1.0)).round();
        every.is_finite() && every >= 1.0 && i.is_multiple_of(every as usize)
    };
    let mut telnet_tasks = Vec::with_capacity(config.telnet);
    if config.telnet > 0 {
        let Some(server) = config.telnet_server else {
            return Err(ClientError::Setup(
                "telnet bots need the world's telnet address".into(),
            ));
        };
        for i in 0..config.telnet {
            let plan = TelnetPlan {
                server,
                name: format!("{}t{}", config.name_prefix, i),
                talk_every: talker(config.count + i).then_some(config.talk_every),
                crowd: config.crowd,
                deadline,
                seed: (config.count + i) as u64,
                epoch: start,
                steady_from: steady_from(start, spread, deadline),
            };
            let delay = spread.mul_f64(i as f64 / config.telnet as f64);
            telnet_tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                run_telnet_bot(plan).await
            }));
        }
    }
    let mut tasks = Vec::with_capacity(config.count);
    for i in 0..config.count {
        let endpoint = endpoints[i / per].clone();
        let name = format!("{}{}", config.name_prefix, i);
        let server = config.server;
        let delay = if config.count > 1 {
            spread.mul_f64(i as f64 / config.count as f64)
        } else {
            Duration::ZERO
        };
        let behaviour = Behaviour {
            crowd: config.crowd,
            talk_every: talker(i).then_some(config.talk_every),
        };
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            run_bot(endpoint, server, name, i as u64, start, deadline, behaviour).await
        }));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.unwrap_or_else(|e| BotResult {
            failed: true,
            error: Some(format!("bot task: {e}")),
            ..Default::default()
        }));
    }
    let mut telnet = Vec::with_capacity(telnet_tasks.len());
    for t in telnet_tasks {
        telnet.push(t.await.unwrap_or_else(|e| TelnetResult {
            failed: true,
            error: Some(format!("telnet bot task: {e}")),
            ..Default::default()
        }));
    }
    for e in &endpoints {
        e.wait_idle().await;
    }
    let elapsed = start.elapsed();
    let mut report = summarise(config.count, &results, elapsed);
    add_telnet(&mut report, &telnet, elapsed);
    let steady = deadline.saturating_duration_since(steady_from(start, spread, deadline));
    let steady_lines: u64 = telnet.iter().map(|r| r.steady_lines).sum();
    report.telnet_steady_lines_per_sec = if steady > Duration::ZERO {
        (steady_lines as f64 / steady.as_secs_f64()).round()
    } else {
        0.0
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = match (cpu_before, cpu_seconds()) {
        (Some(a), Some(b)) if elapsed > Duration::ZERO => 100.0 * (b - a) / elapsed.as_secs_f64(),
        _ => 0.0,
    };
    report.swarm_cpu_percent = (cpu * 10.0).round() / 10.0;
    report.swarm_cores = cores;
    report.saturated =
        report.swarm_cpu_percent >= 90.0 * cores as f64 || report.late_input_share >= 0.05;
    Ok(report)
}

/// How a graphical bot behaves besides walking.
#[derive(Debug, Clone, Copy)]
struct Behaviour {
    /// Stays within a few metres of where it appeared.
    crowd: bool,
    /// Says a line this often.
    talk_every: Option<Duration>,
}

/// How far from where it appeared a crowd bot wanders, metres.
const CROWD_RADIUS: f32 = 6.0;

/// When a swarm started at `start`, its bots spread over `spread`, is
/// steady: two seconds after the last start, if that is before `deadline`.
fn steady_from(start: Instant, spread: Duration, deadline: Instant) -> Instant {
    (start + spread + Duration::from_secs(2)).min(deadline)
}

/// The telnet bots' part of the report.
fn add_telnet(report: &mut SwarmReport, telnet: &[TelnetResult], elapsed: Duration) {
    report.telnet_bots = telnet.len();
    report.telnet_connected = telnet.iter().filter(|r| r.connected).count();
    report.telnet_failed = telnet.iter().filter(|r| r.failed).count();
    report.failed += report.telnet_failed;
    let lines: u64 = telnet.iter().map(|r| r.lines).sum();
    let secs = elapsed.as_secs_f64();
    report.telnet_lines_per_sec = if secs > 0.0 {
        (lines as f64 / secs * 100.0).round() / 100.0
    } else {
        0.0
    };
    report.telnet_said = telnet.iter().map(|r| r.said).sum();
    let mut latencies: Vec<u32> = telnet
        .iter()
        .flat_map(|r| r.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    report.telnet_heard = latencies.len() as u64;
    let ms = |q: f64| {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        latencies
            .get(i)
            .map_or(0.0, |&us| (f64::from(us) / 10.0).round() / 100.0)
    };
    report.telnet_latency_ms_p50 = ms(0.50);
    report.telnet_latency_ms_p99 = ms(0.99);
    let room = 5usize.saturating_sub(report.errors.len());
    report
        .errors
        .extend(telnet.iter().filter_map(|r| r.error.clone()).take(room));
}

/// This process's CPU time (user and system, all threads), seconds, from
/// `/proc/self/stat`; `None` where there is no such file.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may
    // hold spaces: state is field 3, utime 14 and stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks of the kernel's USER_HZ, 100 on Linux everywhere.
    Some((utime + stime) / 100.0)
}

fn summarise(bots: usize, results: &[BotResult], elapsed: Duration) -> SwarmReport {
    let connected: Vec<&BotResult> = results.iter().filter(|r| r.connected).collect();
    let n = connected.len().max(1) as f64;
    let rate = |r: &BotResult, v: u64| {
        if r.active_secs > 0.0 {
            v as f64 / r.active_secs
        } else {
            0.0
        }
    };
    let mut rtts: Vec<f64> = results
        .iter()
        .flat_map(|r| r.rtts_ms.iter().copied())
        .collect();
    rtts.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        if rtts.is_empty() {
            0.0
        } else {
            rtts[((rtts.len() - 1) as f64 * q).round() as usize]
        }
    };
    let round = |v: f64| (v * 100.0).round() / 100.0;
    let round_mm = |v: f64| (v * 10_000.0).round() / 10_000.0;
    let mut prediction = ErrorStats::new();
    for r in results {
        prediction.merge(&r.errors);
    }
    SwarmReport {
        bots,
        connected: connected.len(),
        failed: results.iter().filter(|r| r.failed).count(),
        without_state: connected.iter().filter(|r| r.states == 0).count(),
        states_per_sec_per_bot: round(connected.iter().map(|r| rate(r, r.states)).sum::<f64>() / n),
        min_states_per_sec: round(
            connected
                .iter()
                .map(|r| rate(r, r.states))
                .reduce(f64::min)
                .unwrap_or(0.0),
        ),
        bytes_per_sec_per_bot: round(
            connected.iter().map(|r| rate(r, r.rx_bytes)).sum::<f64>() / n,
        ),
        sent_bytes_per_sec_per_bot: round(
            connected.iter().map(|r| rate(r, r.tx_bytes)).sum::<f64>() / n,
        ),
        snapshot_errors: results.iter().map(|r| r.snapshot_errors).sum(),
        entities_in_view: round(connected.iter().map(|r| r.in_view as f64).sum::<f64>() / n),
        prediction_error_mean_m: prediction.mean().map_or(0.0, |v| round_mm(f64::from(v))),
        prediction_error_p99_m: prediction.p99().map_or(0.0, |v| round_mm(f64::from(v))),
        prediction_error_max_m: prediction.max().map_or(0.0, |v| round_mm(f64::from(v))),
        predictions_checked: prediction.count() as u64,
        prediction_exact_share: prediction.share_at_most(EXACT_M).map_or(0.0, round_mm),
        rtt_ms_p50: round(pct(0.50)),
        rtt_ms_p99: round(pct(0.99)),
        commands_sent: results.iter().map(|r| r.commands).sum(),
        events_received: results.iter().map(|r| r.events).sum(),
        errors: results
            .iter()
            .filter_map(|r| r.error.clone())
            .take(5)
            .collect(),
        elapsed_secs: round(elapsed.as_secs_f64()),
        telnet_bots: 0,
        telnet_connected: 0,
        telnet_failed: 0,
        telnet_lines_per_sec: 0.0,
        telnet_said: 0,
        telnet_steady_lines_per_sec: 0.0,
        telnet_heard: 0,
        telnet_latency_ms_p50: 0.0,
        telnet_latency_ms_p99: 0.0,
        swarm_cpu_percent: 0.0,
        swarm_cores: 1,
        late_input_share: {
            let ticks: u64 = results.iter().map(|r| r.input_ticks).sum();
            let late: u64 = results.iter().map(|r| r.late_ticks).sum();
            if ticks > 0 {
                round_mm(late as f64 / ticks as f64)
            } else {
                0.0
            }
        },
        saturated: false,
    }
}

const CHATTER: &[&str] = &[
    "hello there",
    "anyone seen the blacksmith?",
    "nice weather today",
    "to the tavern!",
    "wares for sale, cheap",
];
/// A prediction error this large means the server stopped the avatar (a wall).
const BLOCKED_M: f32 = 0.05;
/// Errors at most this large are quantization, not misprediction.
const EXACT_M: f32 = 0.005;
const EXITS: &[&str] = &["north", "south", "east", "west", "up", "down"];

async fn run_bot(
    endpoint: quinn::Endpoint,
    server: SocketAddr,
    name: String,
    seed: u64,
    origin: Instant,
    deadline: Instant,
    behaviour: Behaviour,
) -> BotResult {
    let mut result = BotResult::default();
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5);
    let connect = tokio::time::timeout_at(
        deadline.into(),
        Client::connect_with(&endpoint, server, &name),
    )
    .await;
    let mut client = match connect {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            result.failed = true;
            result.error = Some(format!("{name}: {e}"));
            return result;
        }
        Err(_) => {
            result.failed = true;
            result.error = Some(format!("{name}: connect timed out"));
            return result;
        }
    };
    result.connected = true;
    let active_from = Instant::now();
    let tick = Duration::from_secs_f64(1.0 / f64::from(client.tick_rate.max(1)));
    let mut input_every = tokio::time::interval(tick);
    input_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ping_every = tokio::time::interval(Duration::from_millis(250));
    ping_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (mut dx, mut dz) = (0.0f32, 0.0f32);
    let mut predictor = Predictor::new(client.walk_speed, client.tick_rate);
    let mut interpolator = Interpolator::default();
    let mut clock = ServerClock::new(client.tick_rate);
    let mut rendered: Vec<RenderEntity> = Vec::new();
    let mut next_turn = Instant::now();
    let mut next_action = Instant::now() + Duration::from_millis(rng.u64(1000..4000));
    let mut next_talk = behaviour
        .talk_every
        .map(|every| Instant::now() + every.mul_f64(rng.f64()));
    // Where it first appeared, for crowd mode.
    let mut home: Option<[f32; 3]> = None;
    let end = tokio::time::sleep_until(deadline.into());
    tokio::pin!(end);
    let datagrams = client.datagrams();
    let outcome: Result<(), String> = loop {
        // Commands are written after the select, which borrows the client.
        let mut to_send: Option<String> = None;
        tokio::select! {
            _ = &mut end => break Ok(()),
            scheduled = input_every.tick() => {
                let now = Instant::now();
                result.input_ticks += 1;
                if now.saturating_duration_since(scheduled.into_std()) > tick / 2 {
                    result.late_ticks += 1;
                }
                if now >= next_turn {
                    let angle = rng.f32() * std::f32::consts::TAU;
                    (dx, dz) = (angle.cos(), angle.sin());
                    next_turn = now + Duration::from_millis(rng.u64(1500..4000));
                    if behaviour.crowd {
                        // Mill about: turn often, and head home when far.
                        next_turn = now + Duration::from_millis(rng.u64(500..1500));
                        let at = predictor.position();
                        if let Some(h) = home {
                            let (ox, oz) = (h[0] - at[0], h[2] - at[2]);
                            let d = (ox * ox + oz * oz).sqrt();
                            if d > CROWD_RADIUS {
                                (dx, dz) = (ox / d, oz / d);
                            }
                        }
                    }
                }
                match client.send_input(dx, dz) {
                    Ok(sequence) => {
                        predictor.apply_input(sequence, [dx, dz]);
                    }
                    Err(e) => break Err(e.to_string()),
                }
                // What a renderer would draw this frame: others 100 ms behind.
                if let Some(at) = clock.render_tick(now, Duration::from_millis(100)) {
                    interpolator.sample(at, &mut rendered);
                }
                predictor.decay(tick.as_secs_f32());
                if let (Some(at), Some(every)) = (next_talk, behaviour.talk_every) {
                    if now >= at {
                        next_talk = Some(at + every);
                        to_send = Some(format!("say {}", CHATTER[rng.usize(..CHATTER.len())]));
                    }
                }
                if to_send.is_none() && !behaviour.crowd && now >= next_action {
                    next_action = now + Duration::from_millis(rng.u64(3000..8000));
                    let line = if rng.bool() {
                        format!("say {}", CHATTER[rng.usize(..CHATTER.len())])
                    } else {
                        format!("go {}", EXITS[rng.usize(..EXITS.len())])
                    };
                    to_send = Some(line);
                }
            }
            _ = ping_every.tick() => {
                let nonce = origin.elapsed().as_nanos() as u64;
                if let Err(e) = client.ping(nonce) {
                    break Err(e.to_string());
                }
            }
            datagram = datagrams.next_datagram() => match datagram {
                Ok(ServerDatagram::Snapshot { header, payload }) => {
                    match client.apply_snapshot(&header, &payload) {
                        Ok(Receipt::Newest) => {
                            result.states += 1;
                            clock.observe(header.tick, Instant::now());
                            let view = client.replica().latest();
                            if let Some(me) = view.get(client.entity_id) {
                                let at = client.quantizer().position_of(me.state.position);
                                home.get_or_insert(at);
                                if let Some(error) = predictor.reconcile(header.last_input, at) {
                                    result.errors.record(error);
                                    // Walked into a wall the client does not know:
                                    // turn, as a player would.
                                    if error > BLOCKED_M {
                                        next_turn = Instant::now();
                                    }
                                }
                            }
                            result.in_view = view.entities.len();
                            interpolator.push_view(view, client.quantizer(), true);
                        }
                        Ok(Receipt::Older) => {
                            result.states += 1;
                            if let Some(view) = client.replica().view(header.sequence) {
                                interpolator.push_view(view, client.quantizer(), false);
                            }
                        }
                        Ok(Receipt::Duplicate) => {}
                        Err(_) => result.snapshot_errors += 1,
                    }
                }
                Ok(ServerDatagram::Pong { nonce }) => {
                    let now = origin.elapsed().as_nanos() as u64;
                    result.rtts_ms.push(now.saturating_sub(nonce) as f64 / 1e6);
                }
                Err(e) => break Err(e.to_string()),
            },
            event = client.next_event() => match event {
                Some(Ok(_)) => result.events += 1,
                Some(Err(e)) => break Err(e.to_string()),
                None => break Err("server closed the stream".into()),
            },
        }
        if let Some(line) = to_send {
            if let Err(e) = client.command(&line).await {
                break Err(e.to_string());
            }
            result.commands += 1;
        }
    };
    result.active_secs = active_from.elapsed().as_secs_f64();
    let stats = client.connection().stats();
    result.rx_bytes = stats.udp_rx.bytes;
    result.tx_bytes = stats.udp_tx.bytes;
    if let Err(e) = outcome {
        result.failed = true;
        result.error = Some(format!("{name}: {e}"));
    }
    client.close();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_no_connections_is_zeroes_not_nans() {
        let r = summarise(
            2,
            &[
                BotResult {
                    failed: true,
                    ..Default::default()
                },
                BotResult {
                    failed: true,
                    ..Default::default()
                },
            ],
            Duration::from_secs(1),
        );
        assert_eq!(r.connected, 0);
        assert_eq!(r.failed, 2);
        assert_eq!(r.min_states_per_sec, 0.0);
        assert!(r.states_per_sec_per_bot.is_finite());
    }

    #[test]
    fn summary_rates_and_percentiles() {
        let bot = |states, rtt: f64| BotResult {
            connected: true,
            states,
            active_secs: 2.0,
            rx_bytes: 2000,
            rtts_ms: vec![rtt],
            ..Default::default()
        };
        let r = summarise(2, &[bot(60, 1.0), bot(40, 3.0)], Duration::from_secs(2));
        assert_eq!(r.states_per_sec_per_bot, 25.0);
        assert_eq!(r.min_states_per_sec, 20.0);
        assert_eq!(r.bytes_per_sec_per_bot, 1000.0);
        assert_eq!(r.rtt_ms_p50, 3.0);
        assert_eq!(r.without_state, 0);
    }
}
