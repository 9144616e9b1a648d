#![warn(missing_docs)]

//! The event bus between worlds: cross-world chat and presence.
//!
//! A world never talks to Redis itself. It reads and writes
//! [`BusMessage`]s on crossbeam channels ([`gsp_engine::BusLink`]), and
//! [`bridge`] connects those channels to a [`Bus`]. The bus has two
//! backends behind one cloneable handle:
//!
//! - **in-process** ([`Bus::in_process`], the default): a tokio broadcast
//!   channel; every subscriber in the process hears every message.
//! - **Redis pub/sub** ([`Bus::connect`] with a URL): the same, plus every
//!   message goes to a Redis channel (default [`DEFAULT_CHANNEL`]) as a JSON
//!   [`envelope`] and messages from other processes come back from it.
//!
//! Delivery rules, for both backends:
//!
//! - [`Bus::publish`] never blocks and never fails from the caller's view.
//! - Local subscribers get every locally published message at once, exactly
//!   once (loopback). Redis sends our own messages back too; the envelope's
//!   `origin` (unique per bus instance) lets us drop that echo.
//! - Messages from other processes arrive once.
//!
//! Across processes delivery is **best-effort**, as chat is. If Redis goes
//! away the bus degrades to local-only delivery: messages published during
//! the outage reach this process's subscribers and are dropped for Redis
//! (not queued). One warning is logged per outage; both connections
//! reconnect on their own with [`Backoff`] (100 ms doubling to 5 s) and one
//! info line says when the bus is back. A Redis unreachable at start is the
//! same: the bus starts degraded and keeps trying. [`Bus::status`] tells
//! which backend is in use, whether it is connected and the last error.
//!
//! The plain parts are separate and tested without sockets: the wire format
//! and the echo filter ([`envelope`]), the reconnect delays ([`Backoff`]),
//! the outage bookkeeping ([`health`]), the warning rate limit
//! ([`DropWarner`]) and who-is-online ([`PresenceBook`]).

pub mod backoff;
mod bridge;
pub mod envelope;
pub mod health;
pub mod ratelimit;
mod remote;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gsp_engine::BusMessage;
use serde::Serialize;
use tokio::sync::broadcast;

pub use backoff::Backoff;
pub use bridge::{bridge, BridgeGuard, BRIDGE_CAPACITY};
pub use gsp_engine::presence::PresenceBook;
pub use ratelimit::DropWarner;

/// The Redis channel used when none is configured.
pub const DEFAULT_CHANNEL: &str = "gsp:bus";

/// Messages a slow local subscriber may fall behind by before it misses some,
/// and messages waiting to be sent to Redis, by default.
pub const DEFAULT_CAPACITY: usize = 4096;

/// Why a bus could not be created. Redis being unreachable is not one of
/// these: the bus starts degraded and reconnects.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The Redis URL does not parse.
    #[error("invalid redis url for the bus: {0}")]
    InvalidUrl(#[source] ::redis::RedisError),
    /// The channel name is empty.
    #[error("the bus channel name is empty")]
    EmptyChannel,
    /// The Redis backend runs tasks and needs a tokio runtime.
    #[error("the redis bus must be started inside a tokio runtime")]
    NoRuntime,
    /// The bridge thread could not be started.
    #[error("could not start the bus bridge thread for world {world}: {source}")]
    Spawn {
        /// The world being bridged.
        world: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

/// Which backend a bus uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BusBackend {
    /// Within this process only.
    InProcess,
    /// Redis pub/sub across processes.
    Redis,
}

/// What [`Bus::status`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusStatus {
    /// The backend in use.
    pub backend: BusBackend,
    /// Whether messages cross to other processes now (always true
    /// in-process; for Redis, both connections are up).
    pub connected: bool,
    /// The most recent Redis error, kept after recovery for diagnostics.
    pub last_error: Option<String>,
}

/// How to build a [`Bus`]. [`BusConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `redis://...` to use Redis pub/sub; `None` for the in-process bus.
    pub redis_url: Option<String>,
    /// The Redis channel (default [`DEFAULT_CHANNEL`]). Buses on different
    /// channels do not hear each other.
    pub channel: String,
    /// A label for the origin id, usually the world name; a random part is
    /// added to it (see [`envelope::new_origin`]).
    pub origin_label: String,
    /// Local subscriber lag and Redis send queue bound (default
    /// [`DEFAULT_CAPACITY`]; kept between 1 and 2^20).
    pub capacity: usize,
    /// First reconnection delay (default 100 ms).
    pub backoff_initial: Duration,
    /// Longest reconnection delay (default 5 s).
    pub backoff_max: Duration,
    /// Bound on connecting and on each Redis command (default 2 s).
    pub io_timeout: Duration,
    /// How often an idle connection is pinged so that a silent loss is
    /// noticed (default 2 s).
    pub ping_interval: Duration,
}

impl BusConfig {
    /// Defaults: in-process, channel [`DEFAULT_CHANNEL`], the given origin label.
    pub fn new(origin_label: impl Into<String>) -> Self {
        Self {
            redis_url: None,
            channel: DEFAULT_CHANNEL.to_string(),
            origin_label: origin_label.into(),
            capacity: DEFAULT_CAPACITY,
            backoff_initial: Backoff::DEFAULT_INITIAL,
            backoff_max: Backoff::DEFAULT_MAX,
            io_timeout: Duration::from_secs(2),
            ping_interval: Duration::from_secs(2),
        }
    }

    /// The same, with Redis at `url` (or in-process for `None`).
    pub fn redis_url(mut self, url: Option<&str>) -> Self {
        self.redis_url = url.map(str::to_string);
        self
    }

    /// The same, on another Redis channel.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }
}

/// A handle to the event bus; clones share one bus. Background tasks (Redis)
/// stop when the last clone is dropped.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    origin: String,
    local: broadcast::Sender<BusMessage>,
    redis: Option<remote::RedisShell>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("origin", &self.inner.origin)
            .field("status", &self.status())
            .finish()
    }
}

impl Bus {
    /// An in-process bus (no runtime needed).
    pub fn in_process() -> Self {
        Self::local_only(&BusConfig::new("local"))
    }

    /// A bus on Redis at `redis_url`, or in-process for `None`, with the
    /// default channel. `origin` labels this instance (usually the world
    /// name). Must be called inside a tokio runtime when a URL is given.
    pub fn connect(redis_url: Option<&str>, origin: &str) -> Result<Self, BusError> {
        Self::start(BusConfig::new(origin).redis_url(redis_url))
    }

    /// A bus as configured. With a Redis URL it starts its connections in the
    /// background and returns at once, connected or not.
    pub fn start(config: BusConfig) -> Result<Self, BusError> {
        let Some(url) = config.redis_url.as_deref() else {
            return Ok(Self::local_only(&config));
        };
        if config.channel.is_empty() {
            return Err(BusError::EmptyChannel);
        }
        let client = ::redis::Client::open(url).map_err(BusError::InvalidUrl)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BusError::NoRuntime)?;
        let origin = envelope::new_origin(&config.origin_label);
        let (local, _) = broadcast::channel(capacity(&config));
        let shell = remote::RedisShell::start(&runtime, client, &config, &origin, local.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                origin,
                local,
                redis: Some(shell),
            }),
        })
    }

    fn local_only(config: &BusConfig) -> Self {
        let (local, _) = broadcast::channel(capacity(config));
        Self {
            inner: Arc::new(Inner {
                origin: envelope::new_origin(&config.origin_label),
                local,
                redis: None,
            }),
        }
    }

    /// Send `msg` to every subscriber: local ones now, other processes
    /// through Redis when it is up (dropped for Redis otherwise). Never
    /// blocks; callable from any thread.
    pub fn publish(&self, msg: BusMessage) {
        if let Some(redis) = &self.inner.redis {
            redis.publish(&self.inner.origin, &msg);
        }
        // An error only means nobody is subscribed right now.
        let _ = self.inner.local.send(msg);
    }

    /// A new subscription: every message published from now on, local or
    /// remote.
    pub fn subscribe(&self) -> BusReceiver {
        BusReceiver {
            rx: self.inner.local.subscribe(),
        }
    }

    /// The backend, whether it is connected, and the last error.
    pub fn status(&self) -> BusStatus {
        match &self.inner.redis {
            None => BusStatus {
                backend: BusBackend::InProcess,
                connected: true,
                last_error: None,
            },
            Some(redis) => {
                let health = redis.health();
                BusStatus {
                    backend: BusBackend::Redis,
                    connected: health.connected(),
                    last_error: health.last_error().map(str::to_string),
                }
            }
        }
    }

    /// This instance's origin id, as written in its envelopes.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }
}

/// A subscription to a [`Bus`].
#[derive(Debug)]
pub struct BusReceiver {
    rx: broadcast::Receiver<BusMessage>,
}

impl BusReceiver {
    /// The next message; `None` once the bus is gone. A subscriber that fell
    /// more than the capacity behind skips what it missed (with a warning).
    pub async fn recv(&mut self) -> Option<BusMessage> {
        loop {
            match self.rx.recv().await {
                Ok(msg) => return Some(msg),
                Err(broadcast::error::RecvError::Lagged(n)) => lagged(n),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next message if one is waiting (never waits); `None` when there
    /// is none or the bus is gone.
    pub fn try_recv(&mut self) -> Option<BusMessage> {
        loop {
            match self.rx.try_recv() {
                Ok(msg) => return Some(msg),
                Err(broadcast::error::TryRecvError::Lagged(n)) => lagged(n),
                Err(_) => return None,
            }
        }
    }
}

fn lagged(n: u64) {
    tracing::warn!(
        missed = n,
        "bus subscriber fell behind; skipped {n} messages"
    );
}

/// The configured capacity, kept within what tokio's channels accept.
fn capacity(config: &BusConfig) -> usize {
    config.capacity.clamp(1, 1 << 20)
}

/// Lock a mutex even if a thread panicked while holding it: the data it
/// guards here (health flags) stays meaningful.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
