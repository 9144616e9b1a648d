//! The save writer: the thread that applies what the world sends through its
//! [`PersistSink`](gsp_engine::PersistSink).
//!
//! The tick thread only ever calls `try_send` on the bounded channel; the
//! writer runs on a thread of its own, with a small tokio runtime and its
//! own connection pool, and:
//!
//! - **coalesces**: everything queued while it was writing (or while the
//!   database was down) is merged into one batch (rules in `coalesce`) and
//!   written as one transaction, one generation;
//! - **retries** a failed write with exponential backoff (0.1 s doubling to
//!   10 s), merging newer saves into it meanwhile; nothing is dropped except
//!   what no database could store (names containing NUL), which is logged;
//! - **flushes** on request: [`WriterHandle::flush`] returns once everything
//!   sent before the call is committed (graceful shutdown calls it after the
//!   world's final save);
//! - reports [`WriterStats`].
//!
//! When the last [`WriterHandle`] is dropped the writer writes what it has
//! (a few attempts at most) and ends.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use gsp_engine::Persist;

use crate::accounts::AccountStore;
use crate::characters;
use crate::coalesce::{self, Batch, Work};
use crate::world::WorldStore;
use gsp_store::Database;
use gsp_store::StoreError;

/// The first retry delay after a failed write.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A write taking longer than this is abandoned (rolled back) and retried.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// The writer's own pool: one transaction at a time, one spare.
const WRITER_CONNECTIONS: u32 = 2;
/// Write attempts after the last handle is dropped, before giving up.
const ATTEMPTS_WHEN_STOPPING: u32 = 3;

/// What the writer has done so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriterStats {
    /// The world's last committed generation (read from the database at
    /// start, then from each save).
    pub last_generation: u64,
    /// Transactions committed: world saves, and batches of characters sent
    /// on their own.
    pub saves_written: u64,
    /// How long the last committed write took.
    pub last_save_duration: Option<Duration>,
    /// Failed write attempts (each retried).
    pub failures: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// Entities, mod storage or rooms dropped because no database could
    /// store them (see the log for which).
    pub dropped: u64,
}

/// Why [`WriterHandle::flush`] returned without confirming the write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlushError {
    /// The writer did not finish in time (the database may be down; the
    /// writer keeps retrying).
    #[error("the save writer did not finish within {0:?}")]
    Timeout(Duration),
    /// The writer's thread has ended (it could not start, or it gave up
    /// after its handle was dropped).
    #[error("the save writer has stopped")]
    Stopped,
}

enum Control {
    Flush(Sender<()>),
    Stop,
}

/// Starts the save writer; see the module docs.
#[derive(Debug)]
pub struct Writer;

impl Writer {
    /// Spawns the writer thread, applying world saves through `world` and
    /// characters sent on their own through `accounts` (both keyed by their
    /// store's world name, which should be the same).
    pub fn spawn(world: WorldStore, accounts: AccountStore, rx: Receiver<Persist>) -> WriterHandle {
        if world.world() != accounts.world() {
            tracing::warn!(
                world = world.world(),
                accounts = accounts.world(),
                "the save writer's stores name different worlds; characters go to the account store's"
            );
        }
        let (control_tx, control_rx) = crossbeam_channel::unbounded();
        let stats = Arc::new(Mutex::new(WriterStats::default()));
        let state = State {
            world,
            characters_world: accounts.world().to_string(),
            stores: None,
            rx,
            rx_open: true,
            control: control_rx,
            stopping: false,
            pending: Batch::default(),
            waiters: Vec::new(),
            retry_at: None,
            backoff: FIRST_BACKOFF,
            failures_in_a_row: 0,
            stats: stats.clone(),
        };
        let spawned = thread::Builder::new()
            .name("gsp-save-writer".to_string())
            .spawn(move || state.run());
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the save writer thread; saves will not be written");
        }
        WriterHandle {
            inner: Arc::new(HandleInner {
                control: control_tx,
                stats,
            }),
        }
    }
}

/// Controls a running writer. Cheap to clone; the writer stops when the
/// last clone is dropped.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    inner: Arc<HandleInner>,
}

#[derive(Debug)]
struct HandleInner {
    control: Sender<Control>,
    stats: Arc<Mutex<WriterStats>>,
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Stop);
    }
}

impl WriterHandle {
    /// Blocks until everything sent to the writer before this call is
    /// committed, or `timeout` passes. Blocks the calling thread: from async
    /// code, call it inside `spawn_blocking`.
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        self.inner
            .control
            .send(Control::Flush(done_tx))
            .map_err(|_| FlushError::Stopped)?;
        match done_rx.recv_timeout(timeout) {
            Ok(()) => Ok(()),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(FlushError::Timeout(timeout)),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(FlushError::Stopped),
        }
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> WriterStats {
        lock(&self.inner.stats).clone()
    }
}

fn lock(stats: &Mutex<WriterStats>) -> std::sync::MutexGuard<'_, WriterStats> {
    stats
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The writer thread's state.
struct State {
    /// The store as given (its database belongs to the caller's runtime).
    world: WorldStore,
    characters_world: String,
    /// The stores on the writer's own pool, once connected.
    stores: Option<(WorldStore, Database)>,
    rx: Receiver<Persist>,
    rx_open: bool,
    control: Receiver<Control>,
    stopping: bool,
    pending: Batch,
    /// Flushes waiting for `pending` to be written.
    waiters: Vec<Sender<()>>,
    /// When to retry a failed write.
    retry_at: Option<Instant>,
    backoff: Duration,
    failures_in_a_row: u32,
    stats: Arc<Mutex<WriterStats>>,
}

impl State {
    fn run(mut self) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the save writer's runtime; saves will not be written");
                return;
            }
        };
        tracing::debug!(world = self.world.world(), "save writer started");
        loop {
            let idle = self.pending.is_empty() && self.waiters.is_empty();
            if idle && self.stopping {
                break;
            }
            if idle {
                self.wait(None);
            } else if let Some(at) = self.retry_at.filter(|&at| at > Instant::now()) {
                self.wait(Some(at));
            }
            // Flush requests first, then messages: a flush then covers
            // every message sent before it.
            self.drain_control();
            self.drain_messages();
            let due = self.retry_at.is_none_or(|at| at <= Instant::now());
            if !self.pending.is_empty() && due {
                self.write_pending(&rt);
                if self.stopping && self.failures_in_a_row >= ATTEMPTS_WHEN_STOPPING {
                    tracing::error!(
                        world = self.world.world(),
                        "the save writer is stopping with unsaved changes after {} failed attempts",
                        self.failures_in_a_row
                    );
                    break;
                }
            }
            if self.pending.is_empty() {
                for waiter in self.waiters.drain(..) {
                    let _ = waiter.send(());
                }
            }
        }
        tracing::debug!(world = self.world.world(), "save writer stopped");
    }

    /// Blocks until a message or a control arrives, or `deadline` passes.
    fn wait(&mut self, deadline: Option<Instant>) {
        let never = crossbeam_channel::never();
        let rx = if self.rx_open { &self.rx } else { &never };
        let timer = match deadline {
            Some(at) => crossbeam_channel::at(at),
            None => crossbeam_channel::never(),
        };
        crossbeam_channel::select! {
            recv(rx) -> message => match message {
                Ok(message) => self.pending.push(message),
                Err(_) => self.rx_open = false,
            },
            recv(self.control) -> control => self.handle_control(control.ok()),
            recv(timer) -> _ => {}
        }
    }

    fn drain_control(&mut self) {
        while let Ok(control) = self.control.try_recv() {
            self.handle_control(Some(control));
        }
    }

    fn handle_control(&mut self, control: Option<Control>) {
        match control {
            Some(Control::Flush(done)) => self.waiters.push(done),
            // Stop, or every handle gone.
            Some(Control::Stop) | None => {
                if !self.stopping {
                    // Retry at once: the process is probably exiting.
                    self.retry_at = None;
                    self.failures_in_a_row = 0;
                }
                self.stopping = true;
            }
        }
    }

    fn drain_messages(&mut self) {
        if !self.rx_open {
            return;
        }
        // Bounded, so that a busy world cannot keep the writer from writing.
        for _ in 0..4096 {
            match self.rx.try_recv() {
                Ok(message) => self.pending.push(message),
                Err(crossbeam_channel::TryRecvError::Empty) => break,
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    self.rx_open = false;
                    break;
                }
            }
        }
    }

    fn write_pending(&mut self, rt: &tokio::runtime::Runtime) {
        let Some(mut work) = self.pending.take() else {
            return;
        };
        let started = Instant::now();
        let result = rt.block_on(async {
            match tokio::time::timeout(WRITE_TIMEOUT, self.write(&mut work)).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::TimedOut(WRITE_TIMEOUT)),
            }
        });
        match result {
            Ok(generation) => {
                let took = started.elapsed();
                if self.failures_in_a_row > 0 {
                    tracing::info!(
                        world = self.world.world(),
                        failures = self.failures_in_a_row,
                        "saves are written again"
                    );
                }
                self.failures_in_a_row = 0;
                self.retry_at = None;
                self.backoff = FIRST_BACKOFF;
                let mut stats = lock(&self.stats);
                if let Some(generation) = generation {
                    stats.last_generation = generation;
                }
                stats.saves_written += 1;
                stats.last_save_duration = Some(took);
                drop(stats);
                match &work {
                    Work::World(save) => tracing::debug!(
                        world = self.world.world(),
                        generation,
                        upserts = save.upserts.len(),
                        removals = save.removals.len(),
                        characters = save.characters.len(),
                        took_ms = took.as_secs_f64() * 1e3,
                        "world saved"
                    ),
                    Work::Characters(c) => tracing::debug!(
                        world = self.world.world(),
                        characters = c.len(),
                        took_ms = took.as_secs_f64() * 1e3,
                        "characters saved"
                    ),
                }
            }
            Err(e) => {
                self.failures_in_a_row += 1;
                let delay = self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                self.retry_at = Some(Instant::now() + delay);
                tracing::warn!(
                    world = self.world.world(),
                    error = %e,
                    attempt = self.failures_in_a_row,
                    retry_in_ms = delay.as_millis() as u64,
                    "save failed; will retry"
                );
                {
                    let mut stats = lock(&self.stats);
                    stats.failures += 1;
                    stats.last_error = Some(e.to_string());
                }
                // Keep it, newer messages merge on top.
                let later = std::mem::take(&mut self.pending);
                self.pending = Batch::from_work(work);
                self.pending.merge(later);
            }
        }
    }

    /// One write; the new generation for a world save.
    async fn write(&mut self, work: &mut Work) -> Result<Option<u64>, StoreError> {
        let (world, db) = match &self.stores {
            Some(stores) => stores.clone(),
            None => {
                let db = self.world.database().reconnect(WRITER_CONNECTIONS).await?;
                let world = self.world.with_database(db.clone());
                let generation = world.generation().await?;
                lock(&self.stats).last_generation = generation;
                self.stores = Some((world.clone(), db.clone()));
                (world, db)
            }
        };
        let mut dropped = Vec::new();
        let generation = match work {
            Work::World(save) => {
                dropped = coalesce::sanitize(save);
                self.report_dropped(&dropped);
                Some(world.save_as(save, &self.characters_world).await?)
            }
            Work::Characters(list) => {
                coalesce::sanitize_characters(list, &mut dropped);
                self.report_dropped(&dropped);
                characters::save_alone(&db, &self.characters_world, list).await?;
                None
            }
        };
        Ok(generation)
    }

    fn report_dropped(&self, dropped: &[String]) {
        if dropped.is_empty() {
            return;
        }
        tracing::error!(
            world = self.world.world(),
            dropped = ?dropped,
            "not saved: names containing NUL cannot be stored"
        );
        lock(&self.stats).dropped += dropped.len() as u64;
    }
}
