//! [`WorldRuntime`]: a [`GameWorld`] ticking on its own thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::TickClock;
use crate::dilation::TimeDilation;
use crate::handle::WorldHandle;
use crate::world::GameWorld;

/// Ticks run back to back at most when the world is late; beyond this they
/// are skipped (see [`TickClock`]).
pub const MAX_CATCH_UP_TICKS: u32 = 5;

/// What players read when time starts to slow.
pub const HEAVY_LOAD_NOTICE: &str =
    "The world is under heavy load: time slows down until it can keep up.";
/// What players read when time runs at full speed again.
pub const FULL_SPEED_NOTICE: &str = "The world is back to full speed.";

/// Below this factor players are told the world is under heavy load.
const SLOW_NOTICE_BELOW: f64 = 0.9;

/// A world running on its own thread. Dropping it stops the world.
///
/// When its ticks take longer than it can afford, it runs them less often
/// (time dilation, [`crate::dilation`]): simulated time slows, down to a
/// tenth, snapshots keep flowing at the slower rate, players are told, and
/// `/status` and `/metrics` show the factor. It speeds up again by itself.
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
                let mut dilation = TimeDilation::default();
                let mut slowed = false;
                tracing::info!(tick_hz, "world ticking");
                while !stop.load(Ordering::Acquire) {
                    let plan = clock.advance(Instant::now());
                    for _ in 0..plan.run {
                        let start = Instant::now();
                        world.step();
                        let factor = dilation.observe(start.elapsed(), period);
                        clock.set_period(dilation.stretched(period));
                        world.stats().record_dilation(factor);
                        if !slowed && factor < SLOW_NOTICE_BELOW {
                            slowed = true;
                            tracing::warn!(factor, "world under heavy load; dilating time");
                            world.announce(HEAVY_LOAD_NOTICE);
                        } else if slowed && factor >= 1.0 {
                            slowed = false;
                            tracing::info!("world back to full speed");
                            world.announce(FULL_SPEED_NOTICE);
                        }
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
