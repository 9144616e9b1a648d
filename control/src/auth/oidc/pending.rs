//! Sign-ins under way: what the callback needs to finish one (nonce, PKCE
//! verifier, provider), kept in memory under its `state` between the
//! redirect to the provider and the browser's return.
//!
//! Each is used once, lives [`PENDING_LIFETIME_SECS`], and there are at
//! most a fixed number: past it the oldest are dropped, so a flood of
//! started sign-ins costs bounded memory (and, at worst, makes the oldest
//! sign-ins start again). Time comes in as a parameter.

use std::collections::{BTreeSet, HashMap};

/// How long a started sign-in may take, in seconds.
pub const PENDING_LIFETIME_SECS: u64 = 10 * 60;

/// How many sign-ins may be under way at once by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// One sign-in under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The provider's name.
    pub provider: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier for the token request.
    pub verifier: String,
    /// When it started (seconds since the Unix epoch).
    pub created: u64,
}

/// Why a `state` finishes no sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeError {
    /// Never started here, already finished, or dropped.
    Unknown,
    /// Started longer than [`PENDING_LIFETIME_SECS`] ago.
    Expired,
}

/// The sign-ins under way, by state.
#[derive(Debug)]
pub struct PendingLogins {
    by_state: HashMap<String, Pending>,
    /// (created, state), oldest first: what to expire or drop.
    by_age: BTreeSet<(u64, String)>,
    capacity: usize,
}

impl PendingLogins {
    /// An empty set holding at most `capacity` (at least 1).
    pub fn new(capacity: usize) -> PendingLogins {
        PendingLogins {
            by_state: HashMap::new(),
            by_age: BTreeSet::new(),
            capacity: capacity.max(1),
        }
    }

    /// How many are under way (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.by_state.len()
    }

    /// Whether none is under way.
    pub fn is_empty(&self) -> bool {
        self.by_state.is_empty()
    }

    /// Records a sign-in under `state`, sweeping expired ones and dropping
    /// the oldest if full.
    pub fn insert(&mut self, state: String, pending: Pending, now: u64) {
        self.sweep(now);
        while self.by_state.len() >= self.capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.by_state.remove(&oldest);
        }
        if let Some(old) = self.by_state.remove(&state) {
            self.by_age.remove(&(old.created, state.clone()));
        }
        self.by_age.insert((pending.created, state.clone()));
        self.by_state.insert(state, pending);
    }

    /// Takes the sign-in started under `state`: it is gone afterwards,
    /// whatever the answer.
    pub fn take(&mut self, state: &str, now: u64) -> Result<Pending, TakeError> {
        let pending = self.by_state.remove(state).ok_or(TakeError::Unknown)?;
        self.by_age.remove(&(pending.created, state.to_owned()));
        if expired(&pending, now) {
            return Err(TakeError::Expired);
        }
        Ok(pending)
    }

    /// Drops the expired ones.
    pub fn sweep(&mut self, now: u64) {
        while let Some((created, _)) = self.by_age.first() {
            if now < created.saturating_add(PENDING_LIFETIME_SECS) {
                break;
            }
            if let Some((_, state)) = self.by_age.pop_first() {
                self.by_state.remove(&state);
            }
        }
    }
}

fn expired(p: &Pending, now: u64) -> bool {
    now >= p.created.saturating_add(PENDING_LIFETIME_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(created: u64) -> Pending {
        Pending {
            provider: "google".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            created,
        }
    }

    #[test]
    fn each_state_works_once() {
        let mut p = PendingLogins::new(10);
        p.insert("s1".into(), pending(100), 100);
        assert_eq!(p.take("s2", 101), Err(TakeError::Unknown));
        assert_eq!(p.take("s1", 101), Ok(pending(100)));
        assert_eq!(p.take("s1", 101), Err(TakeError::Unknown));
        assert!(p.is_empty());
    }

    #[test]
    fn they_expire() {
        let mut p = PendingLogins::new(10);
        p.insert("s1".into(), pending(100), 100);
        p.insert("s2".into(), pending(100), 100);
        let end = 100 + PENDING_LIFETIME_SECS;
        assert!(p.take("s1", end - 1).is_ok());
        assert_eq!(p.take("s2", end), Err(TakeError::Expired));
        // Sweeping forgets them altogether.
        p.insert("s3".into(), pending(100), 100);
        p.insert("s4".into(), pending(end), end);
        assert_eq!(p.len(), 1);
        assert_eq!(p.take("s3", end), Err(TakeError::Unknown));
    }

    #[test]
    fn a_flood_drops_the_oldest() {
        let mut p = PendingLogins::new(3);
        for i in 0..10u64 {
            p.insert(format!("s{i}"), pending(100 + i), 100 + i);
            assert!(p.len() <= 3);
        }
        assert_eq!(p.by_age.len(), 3);
        assert_eq!(p.take("s6", 110), Err(TakeError::Unknown));
        for s in ["s7", "s8", "s9"] {
            assert!(p.take(s, 110).is_ok(), "{s}");
        }
    }
}
