//! The world's HTTP endpoint: `/health`, `/status`, `/metrics`.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use gsp_engine::WorldHandle;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The routes, bound to a world.
pub fn router(world: WorldHandle) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(world)
}

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) {
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "HTTP server failed");
    }
}

/// How long without a tick before the world counts as not ticking: ten
/// periods, and never less than a second.
fn health_gap(world: &WorldHandle) -> Duration {
    let period = Duration::from_secs_f64(1.0 / f64::from(world.tick_rate()));
    (period * 10).max(Duration::from_secs(1))
}

async fn health(State(world): State<WorldHandle>) -> impl IntoResponse {
    if world.stats().is_ticking(health_gap(&world)) {
        (StatusCode::OK, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the world is not ticking\n",
        )
    }
}

/// The `/status` document.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Whether the world is ticking.
    pub healthy: bool,
    /// Ticks completed.
    pub tick: u64,
    /// Configured ticks per second.
    pub tick_rate: u16,
    /// Achieved ticks per second over the recent window.
    pub measured_tick_rate: f64,
    /// Tick durations over the recent window.
    pub tick_ms: TickMs,
    /// Connected players.
    pub players: Players,
    /// Entities in the world.
    pub entities: u64,
    /// Ticks skipped because the world fell behind.
    pub skipped_ticks: u64,
    /// Sessions dropped for reading too slowly.
    pub slow_disconnects: u64,
    /// How fast simulated time runs: 1.0 at full speed, less under load.
    pub time_dilation: f64,
    /// Seconds since start.
    pub uptime_secs: f64,
    /// The loaded mods and their health.
    pub mods: Vec<ModStatus>,
    /// How saves are going, when the world saves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saves: Option<gsp_engine::SaveReport>,
    /// How the bus between worlds is doing, when the world has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bus: Option<gsp_engine::BusReport>,
}

/// One mod in `/status`.
#[derive(Debug, Serialize)]
pub struct ModStatus {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// "running", "quarantined" or "failed".
    pub state: String,
    /// Errors raised by its callbacks.
    pub errors: u64,
    /// The last error, naming mod, file and line.
    pub last_error: Option<String>,
}

/// Tick duration percentiles.
#[derive(Debug, Serialize)]
pub struct TickMs {
    /// Median, ms.
    pub p50: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Longest, ms.
    pub max: f64,
    /// Ticks the figures cover.
    pub window_ticks: usize,
}

/// Players by gateway.
#[derive(Debug, Serialize)]
pub struct Players {
    /// Text players.
    pub telnet: u64,
    /// Graphical players.
    pub quic: u64,
    /// Both.
    pub total: u64,
}

async fn status(State(world): State<WorldHandle>) -> Json<Status> {
    let s = world.stats().snapshot();
    let gap = health_gap(&world).as_secs_f64();
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let (saves, bus) = world.stats().services();
    Json(Status {
        healthy: s.since_last_tick_secs.is_some_and(|t| t <= gap),
        tick: s.tick,
        tick_rate: s.tick_rate,
        measured_tick_rate: round(s.measured_tick_rate),
        tick_ms: TickMs {
            p50: round(s.tick_ms_p50),
            p99: round(s.tick_ms_p99),
            max: round(s.tick_ms_max),
            window_ticks: s.window_ticks,
        },
        players: Players {
            telnet: s.players_telnet,
            quic: s.players_quic,
            total: s.players_telnet + s.players_quic,
        },
        entities: s.entities,
        skipped_ticks: s.skipped_ticks,
        slow_disconnects: s.slow_disconnects,
        time_dilation: round(s.time_dilation),
        uptime_secs: round(s.uptime_secs),
        mods: world
            .stats()
            .mods()
            .into_iter()
            .map(|m| ModStatus {
                name: m.name,
                version: m.version,
                state: m.state,
                errors: m.errors,
                last_error: m.last_error,
            })
            .collect(),
        saves,
        bus,
    })
}

async fn metrics(State(world): State<WorldHandle>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        world.stats().prometheus_text(),
    )
}
