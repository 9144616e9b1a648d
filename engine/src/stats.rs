//! What the world measures about itself: tick durations over a recent
//! window, the achieved tick rate, time dilation, players and entities, and
//! Prometheus metrics. The tick thread writes; HTTP handlers read.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Ticks kept for percentiles: about ten seconds at 30 Hz.
const WINDOW_TICKS: usize = 300;

/// A point-in-time summary, as `/status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusSnapshot {
    /// Ticks completed since start.
    pub tick: u64,
    /// The configured ticks per second.
    pub tick_rate: u16,
    /// Ticks per second actually achieved over the window.
    pub measured_tick_rate: f64,
    /// Median tick duration over the window, in milliseconds.
    pub tick_ms_p50: f64,
    /// 99th percentile tick duration over the window, in milliseconds.
    pub tick_ms_p99: f64,
    /// Longest tick in the window, in milliseconds.
    pub tick_ms_max: f64,
    /// Ticks in the window.
    pub window_ticks: usize,
    /// Telnet sessions.
    pub players_telnet: u64,
    /// QUIC sessions.
    pub players_quic: u64,
    /// Entities in the world.
    pub entities: u64,
    /// Ticks skipped because the world fell too far behind.
    pub skipped_ticks: u64,
    /// Sessions dropped because they could not keep up.
    pub slow_disconnects: u64,
    /// How fast simulated time runs: 1.0 at full speed, less under load
    /// ([`crate::dilation`]).
    pub time_dilation: f64,
    /// Seconds since the world started.
    pub uptime_secs: f64,
    /// Seconds since the last tick finished, if there was one.
    pub since_last_tick_secs: Option<f64>,
}

/// How one mod is doing, as `/status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModReport {
    /// The mod's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// "running", "quarantined" or "failed".
    pub state: String,
    /// Errors raised by its callbacks since it loaded.
    pub errors: u64,
    /// The last error, with mod, file and line.
    pub last_error: Option<String>,
}

/// How the world's saves are going, as `/status` shows them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SaveReport {
    /// "sqlite" or "postgres".
    pub database: String,
    /// The last complete save's generation.
    pub generation: u64,
    /// Saves written since start.
    pub saves_written: u64,
    /// How long the last write took, ms.
    pub last_save_ms: Option<f64>,
    /// Failed write attempts (each retried).
    pub failures: u64,
    /// The last failure.
    pub last_error: Option<String>,
}

/// How the bus between worlds is doing, as `/status` shows it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BusReport {
    /// "in-process" or "redis".
    pub backend: String,
    /// Whether messages reach other worlds now.
    pub connected: bool,
    /// The last error, while disconnected.
    pub last_error: Option<String>,
}

#[derive(Debug)]
struct Window {
    durations: VecDeque<Duration>,
    starts: VecDeque<Instant>,
    last_tick_end: Option<Instant>,
}

/// Shared statistics of one world.
#[derive(Debug)]
pub struct WorldStats {
    tick_rate: u16,
    started: Instant,
    window: Mutex<Window>,
    ticks: AtomicU64,
    players_telnet: AtomicU64,
    players_quic: AtomicU64,
    entities: AtomicU64,
    skipped: AtomicU64,
    slow: AtomicU64,
    /// The time dilation factor, as `f64` bits.
    dilation: AtomicU64,
    mods: Mutex<Vec<ModReport>>,
    services: Mutex<(Option<SaveReport>, Option<BusReport>)>,
    metrics: Metrics,
}

#[derive(Debug)]
struct Metrics {
    registry: Registry,
    ticks: Counter,
    tick_seconds: Histogram,
    skipped: Counter,
    slow: Counter,
    players_telnet: Gauge,
    players_quic: Gauge,
    entities: Gauge,
    dilation: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Metrics {
    fn new(tick_rate: u16) -> Self {
        let mut registry = Registry::with_prefix("gsp_world");
        let ticks = Counter::default();
        registry.register("ticks", "Ticks completed", ticks.clone());
        let tick_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 14));
        registry.register(
            "tick_duration_seconds",
            "Time spent running one tick",
            tick_seconds.clone(),
        );
        let skipped = Counter::default();
        registry.register(
            "skipped_ticks",
            "Ticks dropped because the world fell more than the catch-up limit behind",
            skipped.clone(),
        );
        let slow = Counter::default();
        registry.register(
            "slow_disconnects",
            "Sessions dropped because their outbound queue overflowed",
            slow.clone(),
        );
        let players = Family::<Vec<(String, String)>, Gauge>::default();
        registry.register("players", "Connected players by gateway", players.clone());
        let gateway = |kind: &str| {
            players
                .get_or_create(&vec![("gateway".to_owned(), kind.to_owned())])
                .clone()
        };
        let (players_telnet, players_quic) = (gateway("telnet"), gateway("quic"));
        let entities = Gauge::default();
        registry.register("entities", "Entities in the world", entities.clone());
        let dilation = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        dilation.set(1.0);
        registry.register(
            "time_dilation",
            "How fast simulated time runs: 1 at full speed, less when ticks do not fit their period",
            dilation.clone(),
        );
        let rate = Gauge::<i64>::default();
        rate.set(i64::from(tick_rate));
        registry.register("tick_rate", "Configured ticks per second", rate);
        Metrics {
            registry,
            ticks,
            tick_seconds,
            skipped,
            slow,
            players_telnet,
            players_quic,
            entities,
            dilation,
        }
    }
}

fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

impl WorldStats {
    /// Statistics for a world ticking at `tick_rate`.
    pub fn new(tick_rate: u16) -> Self {
        WorldStats {
            tick_rate,
            started: Instant::now(),
            window: Mutex::new(Window {
                durations: VecDeque::with_capacity(WINDOW_TICKS),
                starts: VecDeque::with_capacity(WINDOW_TICKS),
                last_tick_end: None,
            }),
            ticks: AtomicU64::new(0),
            players_telnet: AtomicU64::new(0),
            players_quic: AtomicU64::new(0),
            entities: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            slow: AtomicU64::new(0),
            dilation: AtomicU64::new(1.0f64.to_bits()),
            mods: Mutex::new(Vec::new()),
            services: Mutex::new((None, None)),
            metrics: Metrics::new(tick_rate),
        }
    }

    /// Records one tick that started at `start` and took `duration`.
    pub fn record_tick(&self, start: Instant, duration: Duration) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        self.metrics.ticks.inc();
        self.metrics.tick_seconds.observe(duration.as_secs_f64());
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if w.durations.len() == WINDOW_TICKS {
            w.durations.pop_front();
            w.starts.pop_front();
        }
        w.durations.push_back(duration);
        w.starts.push_back(start);
        w.last_tick_end = Some(start + duration);
    }

    /// Records ticks dropped by the catch-up limit.
    pub fn record_skipped(&self, ticks: u64) {
        self.skipped.fetch_add(ticks, Ordering::Relaxed);
        self.metrics.skipped.inc_by(ticks);
    }

    /// Records sessions dropped for being too slow.
    pub fn count_slow_disconnects(&self, n: u64) {
        self.slow.fetch_add(n, Ordering::Relaxed);
        self.metrics.slow.inc_by(n);
    }

    /// Records the time dilation factor the world now runs at.
    pub fn record_dilation(&self, factor: f64) {
        self.dilation.store(factor.to_bits(), Ordering::Relaxed);
        self.metrics.dilation.set(factor);
    }

    /// The time dilation factor the world runs at.
    pub fn dilation(&self) -> f64 {
        f64::from_bits(self.dilation.load(Ordering::Relaxed))
    }

    /// Replaces the list of mods and their health (the scripting host calls
    /// this when something changes).
    pub fn set_mods(&self, mods: Vec<ModReport>) {
        *self.mods.lock().unwrap_or_else(|e| e.into_inner()) = mods;
    }

    /// The mods and their health.
    pub fn mods(&self) -> Vec<ModReport> {
        self.mods.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records how saves and the bus are doing (the binary refreshes it).
    pub fn set_services(&self, saves: Option<SaveReport>, bus: Option<BusReport>) {
        *self.services.lock().unwrap_or_else(|e| e.into_inner()) = (saves, bus);
    }

    /// How saves and the bus are doing, if the world has them.
    pub fn services(&self) -> (Option<SaveReport>, Option<BusReport>) {
        self.services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records the population after a tick.
    pub fn record_population(&self, telnet: u64, quic: u64, entities: u64) {
        self.players_telnet.store(telnet, Ordering::Relaxed);
        self.players_quic.store(quic, Ordering::Relaxed);
        self.entities.store(entities, Ordering::Relaxed);
        self.metrics.players_telnet.set(telnet as i64);
        self.metrics.players_quic.set(quic as i64);
        self.metrics.entities.set(entities as i64);
    }

    /// Players online now (telnet and QUIC), as last counted by the tick.
    pub fn players_online(&self) -> u64 {
        self.players_telnet.load(Ordering::Relaxed) + self.players_quic.load(Ordering::Relaxed)
    }

    /// Ticks completed.
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Whether the world has ticked within `max_gap`.
    pub fn is_ticking(&self, max_gap: Duration) -> bool {
        let w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        w.last_tick_end.is_some_and(|t| t.elapsed() <= max_gap)
    }

    /// The summary `/status` shows.
    pub fn snapshot(&self) -> StatusSnapshot {
        let (mut durations, measured_rate, since_last) = {
            let w = self.window.lock().unwrap_or_else(|e| e.into_inner());
            let rate = match (w.starts.front(), w.starts.back()) {
                (Some(first), Some(last)) if w.starts.len() > 1 && last > first => {
                    (w.starts.len() - 1) as f64 / (*last - *first).as_secs_f64()
                }
                _ => 0.0,
            };
            (
                w.durations.iter().copied().collect::<Vec<_>>(),
                rate,
                w.last_tick_end.map(|t| t.elapsed().as_secs_f64()),
            )
        };
        durations.sort_unstable();
        StatusSnapshot {
            tick: self.ticks(),
            tick_rate: self.tick_rate,
            measured_tick_rate: measured_rate,
            tick_ms_p50: percentile_ms(&durations, 0.50),
            tick_ms_p99: percentile_ms(&durations, 0.99),
            tick_ms_max: durations.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            window_ticks: durations.len(),
            players_telnet: self.players_telnet.load(Ordering::Relaxed),
            players_quic: self.players_quic.load(Ordering::Relaxed),
            entities: self.entities.load(Ordering::Relaxed),
            skipped_ticks: self.skipped.load(Ordering::Relaxed),
            slow_disconnects: self.slow.load(Ordering::Relaxed),
            time_dilation: self.dilation(),
            uptime_secs: self.started.elapsed().as_secs_f64(),
            since_last_tick_secs: since_last,
        }
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn prometheus_text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.metrics.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_rate_over_the_window() {
        let stats = WorldStats::new(10);
        let t0 = Instant::now();
        for i in 0..100u64 {
            stats.record_tick(
                t0 + Duration::from_millis(100 * i),
                Duration::from_millis(i + 1),
            );
        }
        let s = stats.snapshot();
        assert_eq!(s.tick, 100);
        assert!(
            (s.measured_tick_rate - 10.0).abs() < 1e-6,
            "{}",
            s.measured_tick_rate
        );
        assert!((s.tick_ms_p50 - 51.0).abs() < 1.01, "{}", s.tick_ms_p50);
        assert!((s.tick_ms_p99 - 99.0).abs() < 1.01, "{}", s.tick_ms_p99);
        assert_eq!(s.tick_ms_max, 100.0);
        let text = stats.prometheus_text();
        assert!(text.contains("gsp_world_ticks_total 100"), "{text}");
        assert!(
            text.contains("gsp_world_tick_duration_seconds_bucket"),
            "{text}"
        );
        assert!(text.contains("gsp_world_time_dilation 1"), "{text}");
        stats.record_dilation(0.25);
        assert_eq!(stats.snapshot().time_dilation, 0.25);
        assert!(
            stats
                .prometheus_text()
                .contains("gsp_world_time_dilation 0.25"),
            "{}",
            stats.prometheus_text()
        );
    }
}
