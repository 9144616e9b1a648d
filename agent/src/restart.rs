//! The restart policy, without I/O: what to do when a world exits on its
//! own with a failure (a non-zero code, a signal such as `kill -9`).
//!
//! A failed world is started again after a back-off that doubles with
//! each restart in the window (1 s, 2 s, 4 s by default), at most
//! [`RestartPolicy::max_restarts`] times within
//! [`RestartPolicy::window`]; the next failure inside the window gives up,
//! and the server is `crashed`. Failures older than the window are
//! forgotten, so a world that crashes once a day is restarted every time.
//! The caller passes the clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How failed worlds are restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Restarts allowed within `window` (3).
    pub max_restarts: u32,
    /// The window the restarts are counted in (10 minutes).
    pub window: Duration,
    /// The back-off before the first restart (1 s); each further restart
    /// in the window waits twice the one before.
    pub backoff: Duration,
}

impl Default for RestartPolicy {
    fn default() -> RestartPolicy {
        RestartPolicy {
            max_restarts: 3,
            window: Duration::from_secs(600),
            backoff: Duration::from_secs(1),
        }
    }
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Start it again after `after`; this is restart `attempt` (from 1) of
    /// the window.
    Restart {
        /// Which restart, from 1.
        attempt: u32,
        /// The back-off.
        after: Duration,
    },
    /// Too many failures in the window: give up, the server is crashed.
    GiveUp {
        /// Failures counted in the window, this one included.
        failures: u32,
    },
}

/// The failures of one server's world, under a policy.
#[derive(Debug, Clone)]
pub struct Restarts {
    policy: RestartPolicy,
    /// When each restart in the window was decided, oldest first.
    restarts: VecDeque<Instant>,
}

impl Restarts {
    /// No failures yet.
    pub fn new(policy: RestartPolicy) -> Restarts {
        Restarts {
            policy,
            restarts: VecDeque::new(),
        }
    }

    /// The world failed at `now`: restart it, or give up.
    pub fn failed(&mut self, now: Instant) -> Verdict {
        while let Some(first) = self.restarts.front() {
            if now.saturating_duration_since(*first) >= self.policy.window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        let done = self.restarts.len() as u32;
        if done >= self.policy.max_restarts {
            return Verdict::GiveUp { failures: done + 1 };
        }
        self.restarts.push_back(now);
        let after = self
            .policy
            .backoff
            .saturating_mul(1u32.checked_shl(done).unwrap_or(u32::MAX));
        Verdict::Restart {
            attempt: done + 1,
            after,
        }
    }

    /// Forgets every failure (its owner started it again).
    pub fn reset(&mut self) {
        self.restarts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn three_restarts_with_doubling_backoff_then_crashed() {
        let t0 = Instant::now();
        let mut r = Restarts::new(RestartPolicy::default());
        let verdicts: Vec<Verdict> = (0..4).map(|i| r.failed(t0 + i * 10 * S)).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Restart {
                    attempt: 1,
                    after: S
                },
                Verdict::Restart {
                    attempt: 2,
                    after: 2 * S
                },
                Verdict::Restart {
                    attempt: 3,
                    after: 4 * S
                },
                Verdict::GiveUp { failures: 4 },
            ]
        );
        // Given up stays given up inside the window.
        assert_eq!(r.failed(t0 + 60 * S), Verdict::GiveUp { failures: 4 });
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let t0 = Instant::now();
        let mut r = Restarts::new(RestartPolicy::default());
        for i in 0..3 {
            assert!(matches!(r.failed(t0 + i * S), Verdict::Restart { .. }));
        }
        // Ten minutes after the first restart, one slot is free again.
        assert_eq!(
            r.failed(t0 + 600 * S),
            Verdict::Restart {
                attempt: 3,
                after: 4 * S
            }
        );
        // The other two are still inside it: the next failure gives up.
        assert_eq!(r.failed(t0 + 600 * S), Verdict::GiveUp { failures: 4 });
        // A day later it is restarted from the start of the back-off.
        assert_eq!(
            r.failed(t0 + 86_400 * S),
            Verdict::Restart {
                attempt: 1,
                after: S
            }
        );
    }

    #[test]
    fn a_reset_forgets_and_a_zero_policy_never_restarts() {
        let t0 = Instant::now();
        let mut r = Restarts::new(RestartPolicy::default());
        for _ in 0..3 {
            r.failed(t0);
        }
        r.reset();
        assert!(matches!(r.failed(t0), Verdict::Restart { attempt: 1, .. }));
        let mut never = Restarts::new(RestartPolicy {
            max_restarts: 0,
            ..RestartPolicy::default()
        });
        assert_eq!(never.failed(t0), Verdict::GiveUp { failures: 1 });
        // A huge back-off saturates instead of overflowing.
        let mut slow = Restarts::new(RestartPolicy {
            max_restarts: 100,
            window: Duration::MAX,
            backoff: Duration::MAX / 2,
        });
        for _ in 0..40 {
            slow.failed(t0);
        }
    }
}
