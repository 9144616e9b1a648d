//! Whether the Redis bus is connected, and when to say so in the logs.
//!
//! The Redis bus holds two connections: one to publish and one subscribed to
//! the channel. Either may fail on its own, and both fail together when Redis
//! goes away. [`Health`] folds their ups and downs into one story for people:
//! an outage starts at the first failure (one warning, however many attempts
//! fail after it) and ends when both connections are up again (one info
//! line). It is plain data; the async shell calls it and logs what it returns.

/// One of the bus's two Redis connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The connection that sends `PUBLISH`.
    Publisher,
    /// The connection subscribed to the channel.
    Subscriber,
}

/// A change worth one log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Both connections are up for the first time.
    Connected,
    /// An outage started (or the first connection attempt failed): the bus
    /// now delivers locally only. Carries the error that started it.
    Lost(String),
    /// Both connections are back after an outage.
    Restored,
}

/// The state of the two connections and of the current outage, if any.
#[derive(Debug, Clone, Default)]
pub struct Health {
    publisher_up: bool,
    subscriber_up: bool,
    outage: bool,
    ever_connected: bool,
    last_error: Option<String>,
}

impl Health {
    /// Nothing connected yet, no outage declared.
    pub fn new() -> Self {
        Self::default()
    }

    /// `side` is connected; returns the transition to log, if any.
    pub fn up(&mut self, side: Side) -> Option<Transition> {
        match side {
            Side::Publisher => self.publisher_up = true,
            Side::Subscriber => self.subscriber_up = true,
        }
        if !self.connected() {
            return None;
        }
        let first = !self.ever_connected;
        self.ever_connected = true;
        if self.outage {
            self.outage = false;
            Some(Transition::Restored)
        } else if first {
            Some(Transition::Connected)
        } else {
            None
        }
    }

    /// `side` failed (to connect, or while connected) with `error`; returns
    /// the transition to log, if any.
    pub fn down(&mut self, side: Side, error: impl Into<String>) -> Option<Transition> {
        let error = error.into();
        match side {
            Side::Publisher => self.publisher_up = false,
            Side::Subscriber => self.subscriber_up = false,
        }
        self.last_error = Some(error.clone());
        if self.outage {
            None
        } else {
            self.outage = true;
            Some(Transition::Lost(error))
        }
    }

    /// Both connections are up: messages cross to other processes.
    pub fn connected(&self) -> bool {
        self.publisher_up && self.subscriber_up
    }

    /// The most recent error, kept after recovery for diagnostics.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Side::*;

    #[test]
    fn first_connection_is_announced_once_both_sides_are_up() {
        let mut h = Health::new();
        assert!(!h.connected());
        assert_eq!(h.up(Publisher), None);
        assert!(!h.connected());
        assert_eq!(h.up(Subscriber), Some(Transition::Connected));
        assert!(h.connected());
        assert_eq!(h.last_error(), None);
        // A redundant up says nothing.
        assert_eq!(h.up(Subscriber), None);
    }

    #[test]
    fn one_warning_per_outage_however_many_failures() {
        let mut h = Health::new();
        h.up(Publisher);
        h.up(Subscriber);
        assert_eq!(
            h.down(Subscriber, "connection reset"),
            Some(Transition::Lost("connection reset".into()))
        );
        assert!(!h.connected());
        // Retries failing on both sides, and the publisher noticing late.
        assert_eq!(h.down(Publisher, "broken pipe"), None);
        for _ in 0..10 {
            assert_eq!(h.down(Subscriber, "refused"), None);
            assert_eq!(h.down(Publisher, "refused"), None);
        }
        assert_eq!(h.last_error(), Some("refused"));
        // Half back is still an outage.
        assert_eq!(h.up(Publisher), None);
        assert!(!h.connected());
        assert_eq!(h.down(Publisher, "refused again"), None);
        assert_eq!(h.up(Publisher), None);
        assert_eq!(h.up(Subscriber), Some(Transition::Restored));
        assert!(h.connected());
        // The error stays visible after recovery.
        assert_eq!(h.last_error(), Some("refused again"));
        // The next outage warns again.
        assert_eq!(
            h.down(Publisher, "timeout"),
            Some(Transition::Lost("timeout".into()))
        );
    }

    #[test]
    fn unreachable_at_start_warns_once_then_restores() {
        let mut h = Health::new();
        assert_eq!(
            h.down(Subscriber, "refused"),
            Some(Transition::Lost("refused".into()))
        );
        assert_eq!(h.down(Publisher, "refused"), None);
        assert_eq!(h.up(Publisher), None);
        assert_eq!(h.up(Subscriber), Some(Transition::Restored));
        // Later outages are outages as usual.
        assert!(matches!(h.down(Subscriber, "x"), Some(Transition::Lost(_))));
    }
}
