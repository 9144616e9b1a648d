//! The wake state machine, without I/O: whether a client arriving now is
//! let through, held while the world wakes, or must ask for the wake.
//!
//! ```text
//!            admit (asks)            woke(upstreams)
//!   Asleep ───────────────▶ Waking ─────────────────▶ Awake
//!     ▲                       │ failed / hold expired    │ slept
//!     └───────────────────────┴──────────────────────────┘
//! ```
//!
//! Only the first client of a sleeping world asks the platform; the others
//! wait for the same wake. A wake that has not answered within the hold
//! time is asked again by the next client (the platform's wake is
//! idempotent).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Where the world's listeners are, by name (`telnet`, `quic`).
pub type Upstreams = BTreeMap<String, SocketAddr>;

/// Where the world is, as the proxy knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Not running (hibernated, or not known to run).
    Asleep,
    /// A wake was asked for at `since`.
    Waking {
        /// When it was asked.
        since: Instant,
    },
    /// Running and ready at these addresses.
    Awake(Upstreams),
}

/// What to do with a client that just arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// The world is up: connect it to these.
    Go(Upstreams),
    /// Hold it until the world is up; when `ask` is set, this client is the
    /// one that asks for the wake.
    Hold {
        /// Ask the platform to wake the world.
        ask: bool,
    },
}

/// The state machine.
#[derive(Debug, Clone)]
pub struct Gate {
    phase: Phase,
    hold: Duration,
}

impl Gate {
    /// A gate whose world is in `phase`; clients are held up to `hold`.
    pub fn new(phase: Phase, hold: Duration) -> Gate {
        Gate { phase, hold }
    }

    /// The current phase.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// How long a client is held at most.
    pub fn hold(&self) -> Duration {
        self.hold
    }

    /// A client arrived at `now`.
    pub fn admit(&mut self, now: Instant) -> Admit {
        match &self.phase {
            Phase::Awake(up) => Admit::Go(up.clone()),
            Phase::Waking { since } if now.saturating_duration_since(*since) < self.hold => {
                Admit::Hold { ask: false }
            }
            _ => {
                self.phase = Phase::Waking { since: now };
                Admit::Hold { ask: true }
            }
        }
    }

    /// The world is up (its own ready signal) at `upstreams`.
    pub fn woke(&mut self, upstreams: Upstreams) {
        self.phase = Phase::Awake(upstreams);
    }

    /// The wake failed: the next client asks again.
    pub fn failed(&mut self) {
        if matches!(self.phase, Phase::Waking { .. }) {
            self.phase = Phase::Asleep;
        }
    }

    /// The world stopped (hibernated, or its upstream refused a client).
    pub fn slept(&mut self) {
        self.phase = Phase::Asleep;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up() -> Upstreams {
        [("telnet".to_owned(), "127.0.0.1:4000".parse().unwrap())].into()
    }

    #[test]
    fn only_the_first_client_of_a_sleeping_world_asks() {
        let t0 = Instant::now();
        let mut gate = Gate::new(Phase::Asleep, Duration::from_secs(30));
        assert_eq!(gate.admit(t0), Admit::Hold { ask: true });
        assert_eq!(
            gate.admit(t0 + Duration::from_millis(5)),
            Admit::Hold { ask: false }
        );
        gate.woke(up());
        assert_eq!(gate.admit(t0 + Duration::from_millis(9)), Admit::Go(up()));
    }

    #[test]
    fn a_failed_or_stale_wake_is_asked_again() {
        let t0 = Instant::now();
        let mut gate = Gate::new(Phase::Asleep, Duration::from_secs(30));
        assert_eq!(gate.admit(t0), Admit::Hold { ask: true });
        gate.failed();
        assert_eq!(gate.phase(), &Phase::Asleep);
        assert_eq!(gate.admit(t0), Admit::Hold { ask: true });
        // No answer within the hold: the next client asks again.
        assert_eq!(
            gate.admit(t0 + Duration::from_secs(31)),
            Admit::Hold { ask: true }
        );
    }

    #[test]
    fn a_world_that_sleeps_is_woken_by_the_next_client() {
        let t0 = Instant::now();
        let mut gate = Gate::new(Phase::Awake(up()), Duration::from_secs(30));
        assert_eq!(gate.admit(t0), Admit::Go(up()));
        gate.slept();
        assert_eq!(gate.admit(t0), Admit::Hold { ask: true });
        // A late failure report does not undo a wake that succeeded.
        gate.woke(up());
        gate.failed();
        assert_eq!(gate.admit(t0), Admit::Go(up()));
    }
}
