//! How long to wait before the next reconnection attempt.
//!
//! [`Backoff`] is a plain value: the Redis shell asks it for the next delay
//! after every failed attempt and resets it after a success. Delays start at
//! `initial` and double up to `max`, so a Redis that is down for a minute is
//! asked about a dozen times, not thousands, and one that blinks is back
//! within a fraction of a second.

use std::time::Duration;

/// Exponential reconnection delays: `initial`, doubling, capped at `max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// The delays the bus uses by default: 100 ms doubling up to 5 s.
    pub const DEFAULT_INITIAL: Duration = Duration::from_millis(100);
    /// The cap of the default delays.
    pub const DEFAULT_MAX: Duration = Duration::from_secs(5);

    /// Delays from `initial`, doubling, never above `max` (a `max` below
    /// `initial` is raised to `initial`; a zero `initial` is taken as 1 ms so
    /// that the delays still grow).
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        let max = max.max(initial);
        Self {
            initial,
            max,
            next: initial,
        }
    }

    /// The delay to wait now; the one after it will be twice as long (up to
    /// the cap).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = delay.saturating_mul(2).min(self.max);
        delay
    }

    /// Start again from `initial` (after a successful connection).
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Self::DEFAULT_INITIAL, Self::DEFAULT_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_up_to_the_cap_and_stays_there() {
        let mut b = Backoff::default();
        let got: Vec<Duration> = (0..9).map(|_| b.next_delay()).collect();
        assert_eq!(
            got,
            vec![
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1600),
                ms(3200),
                ms(5000),
                ms(5000),
                ms(5000)
            ]
        );
    }

    #[test]
    fn reset_starts_from_the_initial_delay() {
        let mut b = Backoff::new(ms(10), ms(1000));
        for _ in 0..5 {
            b.next_delay();
        }
        assert_eq!(b.next_delay(), ms(320));
        b.reset();
        assert_eq!(b.next_delay(), ms(10));
        assert_eq!(b.next_delay(), ms(20));
    }

    #[test]
    fn odd_settings_are_made_sane() {
        let mut zero = Backoff::new(Duration::ZERO, ms(4));
        assert_eq!(
            (0..4).map(|_| zero.next_delay()).collect::<Vec<_>>(),
            vec![ms(1), ms(2), ms(4), ms(4)]
        );
        let mut inverted = Backoff::new(ms(50), ms(10));
        assert_eq!(inverted.next_delay(), ms(50));
        assert_eq!(inverted.next_delay(), ms(50));
    }

    #[test]
    fn a_huge_cap_does_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(u64::MAX / 2), Duration::MAX);
        b.next_delay();
        b.next_delay();
        assert_eq!(b.next_delay(), Duration::MAX);
    }
}
