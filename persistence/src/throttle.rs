//! Login throttling, sans I/O: counters of failed attempts per address and
//! per account name, with the time passed in.
//!
//! The rules (see [`ThrottleRules::default`]):
//!
//! - **Per account** (by lowercase name, whether or not the account exists,
//!   so that throttling reveals nothing): 5 failures within 5 minutes lock
//!   the name for 1 minute. From then on, each further failure locks it
//!   again, for twice as long as the last time, up to 15 minutes. A
//!   successful login clears it all, and so does an hour without failures.
//! - **Per address**: 20 failures within 5 minutes block the address until
//!   the oldest of them is 5 minutes old.
//!
//! An attempt is counted as a failure when it *begins* ([`Throttle::begin`])
//! and refunded when it succeeds ([`Throttle::succeeded`]), so that many
//! attempts in flight at once (password hashing takes a while) cannot slip
//! past the limit together.
//!
//! The counters live in memory and are per process: a restart forgets them,
//! and several processes sharing one account database each count their own.
//! The maps are bounded ([`ThrottleRules::max_entries`]); stale entries are
//! pruned as time passes, and when a map is full the longest-idle entry goes.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The limits a [`Throttle`] enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRules {
    /// Failures per account name within [`ThrottleRules::account_window`] that lock it.
    pub account_failures: usize,
    /// The window over which account failures count.
    pub account_window: Duration,
    /// The first lockout; each failure after a lockout locks again, for
    /// twice the previous lockout.
    pub first_lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
    /// Failures per address within [`ThrottleRules::ip_window`] that block it.
    pub ip_failures: usize,
    /// The window over which address failures count.
    pub ip_window: Duration,
    /// An account name without failures for this long (counted from the end
    /// of its lockout, if any) is forgotten, and with it its lockouts.
    pub forget_after: Duration,
    /// The most account names, and the most addresses, tracked at once.
    pub max_entries: usize,
}

impl Default for ThrottleRules {
    /// 5 failures in 5 minutes lock an account for 1 minute, doubling up to
    /// 15; 20 failures in 5 minutes block an address; forget after an hour;
    /// track at most 100,000 names and 100,000 addresses.
    fn default() -> Self {
        ThrottleRules {
            account_failures: 5,
            account_window: Duration::from_secs(5 * 60),
            first_lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(15 * 60),
            ip_failures: 20,
            ip_window: Duration::from_secs(5 * 60),
            forget_after: Duration::from_secs(60 * 60),
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Default)]
struct AccountEntry {
    /// The most recent failures (at most `account_failures`), oldest first.
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
    /// Lockouts so far; the next lasts `first_lockout * 2^lockouts`.
    lockouts: u32,
}

impl AccountEntry {
    fn last_activity(&self) -> Option<Instant> {
        self.failures.back().copied().max(self.locked_until)
    }
}

#[derive(Debug, Default)]
struct IpEntry {
    /// The most recent failures (at most `ip_failures`), oldest first.
    failures: VecDeque<Instant>,
}

/// Failed-login counters. See the module docs for the rules.
#[derive(Debug)]
pub struct Throttle {
    rules: ThrottleRules,
    accounts: HashMap<String, AccountEntry>,
    ips: HashMap<IpAddr, IpEntry>,
    last_prune: Option<Instant>,
}

/// How often [`Throttle::begin`] prunes stale entries on its own.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(ThrottleRules::default())
    }
}

impl Throttle {
    /// A throttle enforcing `rules`, with nothing counted yet.
    pub fn new(rules: ThrottleRules) -> Throttle {
        Throttle {
            rules,
            accounts: HashMap::new(),
            ips: HashMap::new(),
            last_prune: None,
        }
    }

    /// The rules.
    pub fn rules(&self) -> &ThrottleRules {
        &self.rules
    }

    /// How long an attempt from `ip` for `account` (a lowercase name; `None`
    /// for token logins) would have to wait; `None` if it may go ahead.
    pub fn retry_after(&self, ip: IpAddr, account: Option<&str>, now: Instant) -> Option<Duration> {
        let ip_wait = self.ips.get(&ip).and_then(|e| {
            if e.failures.len() < self.rules.ip_failures {
                return None;
            }
            let oldest = *e.failures.front()?;
            let until = oldest + self.rules.ip_window;
            (until > now).then(|| until - now)
        });
        let account_wait = account
            .and_then(|a| self.accounts.get(a))
            .and_then(|e| e.locked_until)
            .and_then(|until| (until > now).then(|| until - now));
        ip_wait.max(account_wait)
    }

    /// Begins an attempt: `Err(retry_after)` if it is throttled (count
    /// nothing more then); otherwise counts it as a failure until
    /// [`Throttle::succeeded`] says otherwise.
    pub fn begin(
        &mut self,
        ip: IpAddr,
        account: Option<&str>,
        now: Instant,
    ) -> Result<(), Duration> {
        if self
            .last_prune
            .is_none_or(|t| now.saturating_duration_since(t) >= PRUNE_EVERY)
        {
            self.prune(now);
        }
        if let Some(wait) = self.retry_after(ip, account, now) {
            return Err(wait);
        }
        self.record_failure(ip, account, now);
        Ok(())
    }

    /// The attempt begun at `begin` succeeded: clears the account's
    /// failures and lockouts, and refunds the address's failure.
    pub fn succeeded(&mut self, ip: IpAddr, account: Option<&str>) {
        if let Some(account) = account {
            self.accounts.remove(account);
        }
        if let Some(entry) = self.ips.get_mut(&ip) {
            entry.failures.pop_back();
            if entry.failures.is_empty() {
                self.ips.remove(&ip);
            }
        }
    }

    fn record_failure(&mut self, ip: IpAddr, account: Option<&str>, now: Instant) {
        if !self.ips.contains_key(&ip) && self.ips.len() >= self.rules.max_entries {
            self.prune(now);
            evict_idlest(&mut self.ips, |e| e.failures.back().copied());
        }
        let ip_entry = self.ips.entry(ip).or_default();
        push_capped(&mut ip_entry.failures, now, self.rules.ip_failures);

        let Some(account) = account else { return };
        if !self.accounts.contains_key(account) && self.accounts.len() >= self.rules.max_entries {
            self.prune(now);
            evict_idlest(&mut self.accounts, AccountEntry::last_activity);
        }
        let rules = &self.rules;
        let entry = self.accounts.entry(account.to_string()).or_default();
        push_capped(&mut entry.failures, now, rules.account_failures);
        while entry
            .failures
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= rules.account_window)
        {
            entry.failures.pop_front();
        }
        // Locked before: every failure locks again (for longer).
        if entry.lockouts > 0 || entry.failures.len() >= rules.account_failures {
            let factor = 1u32.checked_shl(entry.lockouts).unwrap_or(u32::MAX);
            let lockout = rules
                .first_lockout
                .checked_mul(factor)
                .unwrap_or(rules.max_lockout)
                .min(rules.max_lockout);
            entry.locked_until = Some(now + lockout);
            entry.lockouts = entry.lockouts.saturating_add(1);
        }
    }

    /// Forgets what no longer matters at `now`: addresses without failures
    /// in their window, account names unlocked and without failures for
    /// [`ThrottleRules::forget_after`].
    pub fn prune(&mut self, now: Instant) {
        let rules = &self.rules;
        self.ips.retain(|_, e| {
            e.failures
                .back()
                .is_some_and(|&t| now.saturating_duration_since(t) < rules.ip_window)
        });
        self.accounts.retain(|_, e| {
            e.last_activity()
                .is_some_and(|t| t > now || now.saturating_duration_since(t) < rules.forget_after)
        });
        self.last_prune = Some(now);
    }

    /// How many addresses and account names are tracked.
    pub fn tracked(&self) -> (usize, usize) {
        (self.ips.len(), self.accounts.len())
    }
}

fn push_capped(failures: &mut VecDeque<Instant>, now: Instant, cap: usize) {
    failures.push_back(now);
    while failures.len() > cap.max(1) {
        failures.pop_front();
    }
}

/// Removes the entry idle the longest, if the map is (still) full after a prune.
fn evict_idlest<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    last: impl Fn(&V) -> Option<Instant>,
) {
    let idlest = map
        .iter()
        .min_by_key(|(_, v)| last(v))
        .map(|(k, _)| k.clone());
    if let Some(k) = idlest {
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const IP2: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// `n` failed attempts one second apart from `start`; returns the time of the last.
    fn fail(t: &mut Throttle, ip: IpAddr, account: &str, start: Instant, n: u64) -> Instant {
        for i in 0..n {
            t.begin(ip, Some(account), start + secs(i))
                .unwrap_or_else(|w| panic!("attempt {i} throttled for {w:?}"));
        }
        start + secs(n.saturating_sub(1))
    }

    #[test]
    fn five_failures_lock_the_account_for_a_minute() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        let last = fail(&mut t, IP, "bob", t0, 5);
        assert_eq!(t.begin(IP, Some("bob"), last + secs(1)), Err(secs(59)));
        // Other names and other addresses for other names are not affected.
        assert_eq!(t.begin(IP, Some("alice"), last + secs(1)), Ok(()));
        // The lock is on the name, from any address.
        assert_eq!(t.begin(IP2, Some("bob"), last + secs(30)), Err(secs(30)));
        // After the minute the name may try again.
        assert_eq!(t.begin(IP2, Some("bob"), last + secs(60)), Ok(()));
    }

    #[test]
    fn four_failures_do_not_lock() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        let last = fail(&mut t, IP, "bob", t0, 4);
        assert_eq!(t.retry_after(IP, Some("bob"), last), None);
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        fail(&mut t, IP, "bob", t0, 4);
        // The fifth failure comes after the first four left the window.
        let later = t0 + secs(3) + secs(5 * 60);
        assert_eq!(t.begin(IP, Some("bob"), later), Ok(()));
        assert_eq!(t.retry_after(IP, Some("bob"), later), None);
    }

    #[test]
    fn further_failures_double_the_lockout_up_to_fifteen_minutes() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        let mut now = fail(&mut t, IP, "bob", t0, 5);
        let mut lockouts = Vec::new();
        for _ in 0..6 {
            let wait = t.retry_after(IP, Some("bob"), now).expect("locked");
            lockouts.push(wait.as_secs());
            now += wait;
            // Refund the address so that only the account rule is tested.
            t.ips.clear();
            assert_eq!(t.begin(IP, Some("bob"), now), Ok(()));
        }
        assert_eq!(lockouts, vec![60, 120, 240, 480, 900, 900]);
    }

    #[test]
    fn success_clears_the_account() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        let last = fail(&mut t, IP, "bob", t0, 4);
        // The fifth attempt succeeds: it was counted, locked, then cleared.
        assert_eq!(t.begin(IP, Some("bob"), last + secs(1)), Ok(()));
        t.succeeded(IP, Some("bob"));
        assert_eq!(t.retry_after(IP, Some("bob"), last + secs(1)), None);
        // Counting starts over: four more failures do not lock.
        let last = fail(&mut t, IP, "bob", last + secs(2), 4);
        assert_eq!(t.retry_after(IP, Some("bob"), last), None);
    }

    #[test]
    fn twenty_failures_block_the_address_until_the_oldest_ages_out() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        // Spread over many names so that no account locks.
        for i in 0..20u64 {
            let name = format!("user{i}");
            assert_eq!(t.begin(IP, Some(&name), t0 + secs(i)), Ok(()));
        }
        let now = t0 + secs(20);
        let wait = t.begin(IP, Some("fresh"), now).expect_err("blocked");
        assert_eq!(wait, secs(5 * 60) - secs(20));
        // Token logins (no account) are blocked too; other addresses are not.
        assert!(t.begin(IP, None, now).is_err());
        assert_eq!(t.begin(IP2, Some("fresh"), now), Ok(()));
        // Once the oldest failure is 5 minutes old, one more attempt may go.
        let later = t0 + secs(5 * 60);
        assert_eq!(t.begin(IP, Some("fresh"), later), Ok(()));
        assert!(t.begin(IP, Some("other"), later).is_err());
    }

    #[test]
    fn success_refunds_the_address() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        for i in 0..19u64 {
            assert_eq!(t.begin(IP, None, t0 + secs(i)), Ok(()));
        }
        // The twentieth attempt succeeds: the address is not blocked.
        assert_eq!(t.begin(IP, None, t0 + secs(19)), Ok(()));
        t.succeeded(IP, None);
        assert_eq!(t.retry_after(IP, None, t0 + secs(20)), None);
    }

    #[test]
    fn attempts_in_flight_count_before_they_finish() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        // Five attempts begin at the same instant; none has finished.
        for _ in 0..5 {
            assert_eq!(t.begin(IP, Some("bob"), t0), Ok(()));
        }
        assert!(t.begin(IP, Some("bob"), t0).is_err());
    }

    #[test]
    fn stale_entries_are_pruned() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        fail(&mut t, IP, "bob", t0, 2);
        assert_eq!(t.tracked(), (1, 1));
        t.prune(t0 + secs(6 * 60));
        // The address forgot; the name is remembered for an hour.
        assert_eq!(t.tracked(), (0, 1));
        t.prune(t0 + secs(61 * 60));
        assert_eq!(t.tracked(), (0, 0));
    }

    #[test]
    fn a_locked_name_is_not_forgotten_while_locked() {
        let rules = ThrottleRules {
            forget_after: secs(30),
            ..ThrottleRules::default()
        };
        let mut t = Throttle::new(rules);
        let t0 = Instant::now();
        let last = fail(&mut t, IP, "bob", t0, 5);
        t.prune(last + secs(40));
        assert_eq!(
            t.retry_after(IP2, Some("bob"), last + secs(40)),
            Some(secs(20))
        );
    }

    #[test]
    fn maps_are_bounded() {
        let rules = ThrottleRules {
            max_entries: 3,
            ..ThrottleRules::default()
        };
        let mut t = Throttle::new(rules);
        let t0 = Instant::now();
        for i in 0..10u8 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, i));
            assert_eq!(
                t.begin(ip, Some(&format!("n{i}")), t0 + secs(u64::from(i))),
                Ok(())
            );
        }
        assert_eq!(t.tracked(), (3, 3));
        // The most recent survive.
        assert!(t.accounts.contains_key("n9") && !t.accounts.contains_key("n0"));
    }
}
