//! The wake state machine, without I/O: whether a client arriving now is
//! let through, held while the world wakes, or must ask for the wake.
//!
//! ```text
//!            admit (asks)            woke(upstreams)
//!   Asleep ───────────────▶ Waking ─────────────────▶ Awake
//!     ▲                       │ failed / hold expired    │ slept
//!     └───────────────────────┴──────────────────────────┘
//!   crashed(reason), from any phase: Crashed, where every client is
//!   refused with the reason and nobody asks for a wake, until woke or
//!   slept (its owner started it again, or stopped it).
//! ```
//!
//! A world its node is restarting after a crash is [`Phase::Waking`]
//! ([`Gate::restarting`]): clients are held for the restart, as for a
//! wake.
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
    /// Crashed (its node gave up restarting it), for this reason.
    Crashed(String),
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
    /// Turn it away: the world crashed, for this reason.
    Refuse(String),
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
            Phase::Crashed(reason) => Admit::Refuse(reason.clone()),
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
    /// A crashed world stays crashed: a refused client says nothing new.
    pub fn slept(&mut self) {
        if !matches!(self.phase, Phase::Crashed(_)) {
            self.phase = Phase::Asleep;
        }
    }

    /// The world was stopped on purpose (hibernated, removed): asleep,
    /// whatever it was.
    pub fn stopped(&mut self) {
        self.phase = Phase::Asleep;
    }

    /// The world crashed and its node gave up on it, for `reason`.
    pub fn crashed(&mut self, reason: String) {
        self.phase = Phase::Crashed(reason);
    }

    /// The world exited and its node restarts it from `now`: clients are
    /// held for it as for a wake.
    pub fn restarting(&mut self, now: Instant) {
        self.phase = Phase::Waking { since: now };
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

    #[test]
    fn a_crashed_world_refuses_everyone_and_asks_for_no_wake() {
        let t0 = Instant::now();
        let mut gate = Gate::new(Phase::Awake(up()), Duration::from_secs(30));
        gate.restarting(t0);
        assert_eq!(
            gate.admit(t0),
            Admit::Hold { ask: false },
            "held for the restart"
        );
        gate.crashed("exit code 1".into());
        for later in [0, 60, 3600] {
            assert_eq!(
                gate.admit(t0 + Duration::from_secs(later)),
                Admit::Refuse("exit code 1".into())
            );
        }
        // A client's refused connection does not make it wakeable again...
        gate.slept();
        gate.failed();
        assert_eq!(gate.admit(t0), Admit::Refuse("exit code 1".into()));
        // ...its owner starting it does, and so does a deliberate stop.
        gate.woke(up());
        assert_eq!(gate.admit(t0), Admit::Go(up()));
        gate.crashed("exit code 1".into());
        gate.stopped();
        assert_eq!(gate.admit(t0), Admit::Hold { ask: true });
    }
}
