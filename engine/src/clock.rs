//! The fixed-tick clock, sans-I/O.
//!
//! The runner asks [`TickClock::advance`] how many ticks are due at `now`.
//! Time accumulates; each tick consumes one period. If the world falls
//! further behind than `max_catch_up` ticks (a long GC-free pause, a
//! suspended laptop, a tick that took far too long), the excess is dropped
//! and counted rather than replayed: replaying it would make the next ticks
//! late too, the spiral of death.

use std::time::{Duration, Instant};

/// Ticks due at one call of [`TickClock::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickPlan {
    /// Ticks to run now.
    pub run: u32,
    /// Ticks dropped because they were beyond the catch-up limit.
    pub skipped: u32,
}

/// Accumulates wall time into fixed ticks.
#[derive(Debug, Clone)]
pub struct TickClock {
    period: Duration,
    max_catch_up: u32,
    accumulated: Duration,
    last: Instant,
}

impl TickClock {
    /// A clock ticking every `period`, starting at `now`, running at most
    /// `max_catch_up` ticks per call.
    pub fn new(period: Duration, max_catch_up: u32, now: Instant) -> Self {
        assert!(!period.is_zero(), "a tick period must be positive");
        TickClock {
            period,
            max_catch_up: max_catch_up.max(1),
            accumulated: Duration::ZERO,
            last: now,
        }
    }

    /// The period of one tick.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Changes the period of the ticks to come (time dilation stretches
    /// it); a zero period is ignored.
    pub fn set_period(&mut self, period: Duration) {
        if !period.is_zero() {
            self.period = period;
        }
    }

    /// Adds the time since the last call and says how many ticks to run.
    pub fn advance(&mut self, now: Instant) -> TickPlan {
        self.accumulated += now.saturating_duration_since(self.last);
        self.last = now;
        let due = (self.accumulated.as_nanos() / self.period.as_nanos()) as u64;
        let run = due.min(u64::from(self.max_catch_up)) as u32;
        let skipped = due.saturating_sub(u64::from(run)).min(u64::from(u32::MAX)) as u32;
        if skipped > 0 {
            // Keep only the fraction of a period; the rest is forgiven.
            let nanos = self.accumulated.as_nanos() % self.period.as_nanos();
            self.accumulated = Duration::from_nanos(nanos as u64);
        } else {
            self.accumulated -= self.period * run;
        }
        TickPlan { run, skipped }
    }

    /// When the next tick becomes due, as of the last `advance`.
    pub fn next_due(&self) -> Instant {
        self.last + self.period.saturating_sub(self.accumulated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(10);

    #[test]
    fn runs_one_tick_per_period() {
        let t0 = Instant::now();
        let mut c = TickClock::new(P, 5, t0);
        assert_eq!(c.advance(t0 + Duration::from_millis(5)).run, 0);
        assert_eq!(c.advance(t0 + Duration::from_millis(10)).run, 1);
        assert_eq!(c.advance(t0 + Duration::from_millis(35)).run, 2);
        assert_eq!(c.next_due(), t0 + Duration::from_millis(40));
    }

    #[test]
    fn bounded_catch_up_drops_the_excess() {
        let t0 = Instant::now();
        let mut c = TickClock::new(P, 3, t0);
        let plan = c.advance(t0 + Duration::from_millis(1_004));
        assert_eq!(
            plan,
            TickPlan {
                run: 3,
                skipped: 97
            }
        );
        // Back on schedule: the next tick is due one period after the
        // forgiven fraction, not 97 ticks ago.
        assert_eq!(c.next_due(), t0 + Duration::from_millis(1_010));
        assert_eq!(c.advance(t0 + Duration::from_millis(1_010)).run, 1);
    }
}
