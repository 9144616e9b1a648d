//! Rate limits for logins and the API: a token bucket per key (an address,
//! a user, an API key), as plain data with the time passed in.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// A bucket per key: `burst` requests at once, refilled at `per_second`.
/// Keys idle long enough to be full again are forgotten, so the map stays
/// bounded by the keys active recently (and by `max_keys`).
#[derive(Debug)]
pub struct RateLimiter<K> {
    burst: f64,
    per_second: f64,
    max_keys: usize,
    buckets: HashMap<K, (f64, Instant)>,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// A limiter allowing `burst` at once and `per_second` sustained.
    pub fn new(burst: u32, per_second: f64, max_keys: usize) -> Self {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_second: per_second.max(f64::MIN_POSITIVE),
            max_keys: max_keys.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Takes one request for `key` at `now`: `Ok` if allowed, else how long
    /// until one would be.
    pub fn check(&mut self, key: &K, now: Instant) -> Result<(), Duration> {
        if !self.buckets.contains_key(key) && self.buckets.len() >= self.max_keys {
            self.prune(now);
            if self.buckets.len() >= self.max_keys {
                // Too many strangers at once: refuse rather than grow.
                return Err(Duration::from_secs(1));
            }
        }
        let (burst, rate) = (self.burst, self.per_second);
        let (tokens, last) = self.buckets.entry(key.clone()).or_insert((burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }

    /// Forgets keys whose buckets have refilled completely.
    pub fn prune(&mut self, now: Instant) {
        let (burst, rate) = (self.burst, self.per_second);
        self.buckets.retain(|_, (tokens, last)| {
            *tokens + now.saturating_duration_since(*last).as_secs_f64() * rate < burst
        });
    }

    /// Keys tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_the_rate_per_key() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(3, 1.0, 100);
        for _ in 0..3 {
            assert!(limiter.check(&"a", t0).is_ok());
        }
        let wait = limiter.check(&"a", t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert!(limiter.check(&"b", t0).is_ok(), "keys are separate");
        assert!(limiter.check(&"a", t0 + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn idle_keys_are_forgotten_and_the_map_is_bounded() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(1, 1.0, 2);
        assert!(limiter.check(&1, t0).is_ok());
        assert!(limiter.check(&2, t0).is_ok());
        assert!(limiter.check(&3, t0).is_err(), "full of busy keys");
        assert!(limiter.check(&3, t0 + Duration::from_secs(5)).is_ok());
        assert!(limiter.tracked() <= 2);
    }
}
