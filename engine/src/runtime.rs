//! [`WorldRuntime`]: a [`GameWorld`] ticking on its own thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::TickClock;
use crate::handle::WorldHandle;
use crate::world::GameWorld;

/// Ticks run back to back at most when the world is late; beyond this they
/// are skipped (see [`TickClock`]).
pub const MAX_CATCH_UP_TICKS: u32 = 5;

/// A world running on its own thread. Dropping it stops the world.
pub struct WorldRuntime {
    handle: WorldHandle,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WorldRuntime {
    /// Starts ticking `world` on a new thread named `world`.
    pub fn start(mut world: GameWorld) -> std::io::Result<WorldRuntime> {
        let handle = world.handle();
        let stop = Arc::new(AtomicBool::new(false));
        let tick_hz = handle.tick_rate();
        let period = Duration::from_secs_f64(1.0 / f64::from(tick_hz));
        let thread = std::thread::Builder::new().name("world".into()).spawn({
            let stop = stop.clone();
            move || {
                let mut clock = TickClock::new(period, MAX_CATCH_UP_TICKS, Instant::now());
                tracing::info!(tick_hz, "world ticking");
                while !stop.load(Ordering::Acquire) {
                    let plan = clock.advance(Instant::now());
                    for _ in 0..plan.run {
                        world.step();
                    }
                    if plan.skipped > 0 {
                        tracing::warn!(skipped = plan.skipped, "world fell behind; skipping ticks");
                        world.stats().record_skipped(u64::from(plan.skipped));
                    }
                    let now = Instant::now();
                    let due = clock.next_due();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                }
                world.shut_down();
                tracing::info!(ticks = world.tick(), "world stopped");
            }
        })?;
        Ok(WorldRuntime {
            handle,
            stop,
            thread: Some(thread),
        })
    }

    /// A handle for gateways.
    pub fn handle(&self) -> WorldHandle {
        self.handle.clone()
    }

    /// Stops ticking, closes every session, and waits for the thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the world thread panicked");
            }
        }
    }
}

impl Drop for WorldRuntime {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
