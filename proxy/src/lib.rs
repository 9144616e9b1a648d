//! The wake-on-connect proxy: the sidecar in front of each world, on its
//! public telnet (TCP) and QUIC (UDP) ports.
//!
//! Two processes run it: the node agent (`gsp agent`, crate `gsp-agent`)
//! runs one in-process for each server it hosts, and `gsp proxy` runs one
//! standalone in front of a single world. It needs only the platform's wake
//! call from `gsp-agent-api`, never the platform itself.
//!
//! While the world runs, the proxy splices bytes (TCP) or relays datagrams
//! (UDP) between clients and the world. While it sleeps, the first client
//! makes the proxy ask the platform to wake it, and every client is held
//! meanwhile — a TCP client is accepted and, on the telnet port, told that
//! the world is waking up; a UDP client's first datagrams are queued — for
//! up to the hold time (30 s by default). The world is known to be up from
//! its own ready signal (the node agent reports it the moment the world
//! prints its last `listening` line), never from a slow poll, so a held
//! client reaches the world within milliseconds of the world being able to
//! serve it.
//!
//! # Layout
//!
//! - [`gate`]: the wake state machine, with no I/O ([`Gate`], [`Phase`],
//!   [`Admit`]).
//! - [`games`]: the game protocols, with no I/O: Minecraft's Server List
//!   Ping and login, Steam's A2S_INFO, Satisfactory's server query.
//! - this module: [`WakeGate`], which shares a gate between connections
//!   and asks a [`WakeSource`] for wakes; [`PlatformWake`], the source that
//!   asks the platform; [`WAKING_LINE`] and [`DEFAULT_HOLD`].
//! - [`tcp`]: the TCP listener's thin async shell (accept, hold, splice).
//! - [`minecraft`]: a Minecraft listener's shell while the server is not
//!   up (answer the server list, wake on a login, kick with the reason).
//! - [`udp`]: the UDP listener's thin async shell (a relay session per
//!   client).

#![warn(missing_docs)]

pub mod games;
pub mod gate;
pub mod minecraft;
pub mod tcp;
pub mod udp;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use gsp_agent_api::{PlatformCallError, PlatformClient};
use tokio::sync::watch;

pub use gate::{Admit, Gate, Phase, Upstreams};

/// How long a client is held while its world wakes, by default.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(30);

/// What a telnet client reads while its world wakes.
pub const WAKING_LINE: &str = "The world is waking up, one moment...\r\n";

/// Why a client could not be let through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WakeError {
    /// The world was not up within the hold time.
    #[error("the world did not wake within {0:?}")]
    Timeout(Duration),
    /// The platform refused or failed the wake; the text says why.
    #[error("the world could not wake: {0}")]
    Refused(String),
    /// The world crashed and its node gave up restarting it.
    #[error("the server has crashed ({0}); its owner has to start it again")]
    Crashed(String),
    /// The world is up but has no listener of that name.
    #[error("the world has no {0} listener")]
    NoListener(String),
}

/// Asks for a world to be woken: the platform, over its agent API.
pub trait WakeSource: Send + Sync + 'static {
    /// Asks, and resolves when the platform answered. `Some` carries where
    /// the world listens when the answer says so (a standalone proxy);
    /// `None` when the ready signal arrives on its own
    /// ([`WakeGate::woke`], from the node agent that started the world).
    fn wake(&self) -> BoxFuture<'_, Result<Option<Upstreams>, WakeError>>;
}

/// Wakes a server by asking the platform (`POST
/// /nodes/v1/servers/{id}/wake` with the node's token). The platform bills
/// the wake, has the node start the world, and answers once it is ready.
#[derive(Debug, Clone)]
pub struct PlatformWake {
    platform: PlatformClient,
    id: i64,
    upstreams: Option<Upstreams>,
}

impl PlatformWake {
    /// Wakes server `id` through `platform` (which carries the node's
    /// token). A successful wake answers `upstreams` (a standalone proxy
    /// knows where its world listens; the agent's proxies learn it from the
    /// world's ready signal and pass `None`).
    pub fn new(platform: PlatformClient, id: i64, upstreams: Option<Upstreams>) -> PlatformWake {
        PlatformWake {
            platform,
            id,
            upstreams,
        }
    }
}

impl WakeSource for PlatformWake {
    fn wake(&self) -> BoxFuture<'_, Result<Option<Upstreams>, WakeError>> {
        Box::pin(async move {
            match self.platform.wake(self.id).await {
                Ok(()) => Ok(self.upstreams.clone()),
                Err(PlatformCallError::Unreachable { source, .. }) => Err(WakeError::Refused(
                    format!("the platform is unreachable: {source}"),
                )),
                Err(PlatformCallError::Refused { text, .. }) => Err(WakeError::Refused(text)),
                Err(e) => Err(WakeError::Refused(e.to_string())),
            }
        })
    }
}

/// The wake gate of one world, shared by its proxy's listeners.
pub struct WakeGate {
    gate: Mutex<Gate>,
    /// Bumped on every change, with the last wake failure.
    changed: watch::Sender<(u64, Option<WakeError>)>,
    source: Arc<dyn WakeSource>,
    clients: AtomicUsize,
}

/// A client of the proxy, counted while it lives (see [`WakeGate::enter`]).
#[derive(Debug)]
pub struct ClientGuard(Arc<WakeGate>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for WakeGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeGate")
            .field("gate", &self.gate)
            .finish()
    }
}

impl WakeGate {
    /// A gate for a world in `phase` that wakes through `source`.
    pub fn new(phase: Phase, hold: Duration, source: Arc<dyn WakeSource>) -> Arc<WakeGate> {
        Arc::new(WakeGate {
            gate: Mutex::new(Gate::new(phase, hold)),
            changed: watch::channel((0, None)).0,
            source,
            clients: AtomicUsize::new(0),
        })
    }

    /// Counts a client (held or spliced) until the guard drops: a world
    /// with clients at its proxy is not idle, even before they log in.
    pub fn enter(self: &Arc<Self>) -> ClientGuard {
        self.clients.fetch_add(1, Ordering::Relaxed);
        ClientGuard(self.clone())
    }

    /// Clients counted now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self, failure: Option<WakeError>) {
        self.changed.send_modify(|(n, f)| {
            *n += 1;
            *f = failure;
        });
    }

    /// The world is up at `upstreams`: held clients go through.
    pub fn woke(&self, upstreams: Upstreams) {
        self.lock().woke(upstreams);
        self.notify(None);
    }

    /// The world is not answering (a client was refused): the next
    /// client wakes it, unless it crashed.
    pub fn slept(&self) {
        self.lock().slept();
        self.notify(None);
    }

    /// The world was stopped on purpose: the next client wakes it.
    pub fn stopped(&self) {
        self.lock().stopped();
        self.notify(None);
    }

    /// The world crashed for `reason` and will not be restarted: held
    /// clients and those who come are refused with it.
    pub fn crashed(&self, reason: &str) {
        self.lock().crashed(reason.to_owned());
        self.notify(Some(WakeError::Crashed(reason.to_owned())));
    }

    /// The world is being restarted after a crash: clients are held.
    pub fn restarting(&self) {
        self.lock().restarting(Instant::now());
        self.notify(None);
    }

    /// Why the world crashed, while it is crashed.
    pub fn crash(&self) -> Option<String> {
        match self.lock().phase() {
            Phase::Crashed(reason) => Some(reason.clone()),
            _ => None,
        }
    }

    /// Where the world listens, if it is up now.
    pub fn awake(&self) -> Option<Upstreams> {
        match self.lock().phase() {
            Phase::Awake(up) => Some(up.clone()),
            _ => None,
        }
    }

    /// Lets a client through: at once when the world is up, else once it
    /// has woken (asking for the wake if nobody has yet), or fails after
    /// the hold time.
    pub async fn admit(self: &Arc<Self>) -> Result<Upstreams, WakeError> {
        let mut changes = self.changed.subscribe();
        let (ask, hold) = {
            let mut gate = self.lock();
            match gate.admit(Instant::now()) {
                Admit::Go(up) => return Ok(up),
                Admit::Refuse(reason) => return Err(WakeError::Crashed(reason)),
                Admit::Hold { ask } => (ask, gate.hold()),
            }
        };
        if ask {
            let me = self.clone();
            tokio::spawn(async move {
                match me.source.wake().await {
                    Ok(Some(up)) => me.woke(up),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!("wake failed: {e}");
                        me.lock().failed();
                        me.notify(Some(e));
                    }
                }
            });
        }
        let waited = tokio::time::timeout(hold, async {
            loop {
                if changes.changed().await.is_err() {
                    return Err(WakeError::Refused("the proxy is stopping".into()));
                }
                if let Some(up) = self.awake() {
                    return Ok(up);
                }
                if let Some(e) = changes.borrow_and_update().1.clone() {
                    return Err(e);
                }
            }
        })
        .await;
        match waited {
            Ok(result) => result,
            Err(_) => Err(WakeError::Timeout(hold)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        asked: AtomicUsize,
        answer: Result<Option<Upstreams>, WakeError>,
        delay: Duration,
    }

    impl WakeSource for Counting {
        fn wake(&self) -> BoxFuture<'_, Result<Option<Upstreams>, WakeError>> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                self.answer.clone()
            })
        }
    }

    fn up() -> Upstreams {
        [("telnet".to_owned(), "127.0.0.1:4000".parse().unwrap())].into()
    }

    fn source(answer: Result<Option<Upstreams>, WakeError>) -> Arc<Counting> {
        Arc::new(Counting {
            asked: AtomicUsize::new(0),
            answer,
            delay: Duration::from_millis(20),
        })
    }

    #[tokio::test]
    async fn many_clients_one_wake() {
        let src = source(Ok(Some(up())));
        let gate = WakeGate::new(Phase::Asleep, DEFAULT_HOLD, src.clone());
        let clients: Vec<_> = (0..10)
            .map(|_| {
                let g = gate.clone();
                tokio::spawn(async move { g.admit().await })
            })
            .collect();
        for c in clients {
            assert_eq!(c.await.unwrap(), Ok(up()));
        }
        assert_eq!(src.asked.load(Ordering::SeqCst), 1);
        assert_eq!(gate.awake(), Some(up()));
    }

    #[tokio::test]
    async fn the_ready_signal_may_come_from_elsewhere() {
        let src = source(Ok(None));
        let gate = WakeGate::new(Phase::Asleep, DEFAULT_HOLD, src.clone());
        let g = gate.clone();
        let client = tokio::spawn(async move { g.admit().await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!client.is_finished(), "held until the world is ready");
        gate.woke(up());
        assert_eq!(client.await.unwrap(), Ok(up()));
    }

    #[tokio::test]
    async fn a_refused_wake_reaches_every_held_client_and_the_next_asks_again() {
        let src = source(Err(WakeError::Refused("not enough credits".into())));
        let gate = WakeGate::new(Phase::Asleep, DEFAULT_HOLD, src.clone());
        let (a, b) = tokio::join!(gate.admit(), gate.admit());
        assert_eq!(a, Err(WakeError::Refused("not enough credits".into())));
        assert_eq!(b, a);
        assert_eq!(src.asked.load(Ordering::SeqCst), 1);
        let _ = gate.admit().await;
        assert_eq!(src.asked.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_crash_reaches_held_clients_and_turns_away_new_ones_without_a_wake() {
        let src = source(Ok(None));
        let gate = WakeGate::new(Phase::Awake(up()), DEFAULT_HOLD, src.clone());
        gate.restarting();
        let g = gate.clone();
        let held = tokio::spawn(async move { g.admit().await });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!held.is_finished(), "held for the restart");
        gate.crashed("exit code 1");
        let crashed = Err(WakeError::Crashed("exit code 1".into()));
        assert_eq!(held.await.unwrap(), crashed);
        assert_eq!(gate.admit().await, crashed);
        assert_eq!(gate.crash().as_deref(), Some("exit code 1"));
        assert_eq!(
            src.asked.load(Ordering::SeqCst),
            0,
            "nobody asked for a wake"
        );
    }

    #[tokio::test]
    async fn a_hold_times_out() {
        let src = source(Ok(None));
        let gate = WakeGate::new(Phase::Asleep, Duration::from_millis(100), src);
        assert_eq!(
            gate.admit().await,
            Err(WakeError::Timeout(Duration::from_millis(100)))
        );
    }
}
