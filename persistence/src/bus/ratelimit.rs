//! Warn about dropped messages without flooding the log.
//!
//! When a queue is full the bus drops the message rather than block (the tick
//! thread must never wait). Dropping a thousand messages a second must not
//! write a thousand warnings a second: [`DropWarner`] lets the first drop
//! through at once, then at most one warning per interval, each carrying how
//! many were dropped since the previous one.

use std::time::{Duration, Instant};

/// Counts drops and says when a warning is due.
#[derive(Debug, Clone)]
pub struct DropWarner {
    interval: Duration,
    last_warning: Option<Instant>,
    unreported: u64,
}

impl DropWarner {
    /// At most one warning per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_warning: None,
            unreported: 0,
        }
    }

    /// One message was dropped at `now`. Returns `Some(n)` when a warning is
    /// due, `n` being the drops it should report (this one included).
    pub fn dropped(&mut self, now: Instant) -> Option<u64> {
        self.unreported += 1;
        let due = match self.last_warning {
            None => true,
            Some(last) => now.saturating_duration_since(last) >= self.interval,
        };
        if due {
            self.last_warning = Some(now);
            Some(std::mem::take(&mut self.unreported))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_drop_warns_then_one_per_interval_with_the_count() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut w = DropWarner::new(Duration::from_secs(10));
        assert_eq!(w.dropped(t0), Some(1));
        for i in 1..=99 {
            assert_eq!(w.dropped(t0 + s * i / 10), None);
        }
        // 9.9 s later still quiet; at 10 s the next warning reports 100.
        assert_eq!(w.dropped(t0 + s * 10), Some(100));
        assert_eq!(w.dropped(t0 + s * 11), None);
        assert_eq!(w.dropped(t0 + s * 25), Some(2));
    }

    #[test]
    fn time_going_backwards_does_not_panic_or_warn() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let mut w = DropWarner::new(Duration::from_secs(10));
        assert_eq!(w.dropped(t0), Some(1));
        assert_eq!(w.dropped(t0 - Duration::from_secs(50)), None);
    }
}
