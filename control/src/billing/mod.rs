//! Billing rules: which hours of a server are charged, from its state
//! transitions. The rules in this module are pure functions, no clock and
//! no database: the caller passes "now". [`biller`] is the async shell that
//! posts the charges to the [`ledger`](crate::ledger); the billing pass and
//! the hibernation of servers that cannot pay are [`crate::hosting`]'s.
//!
//! # Per started hour, prepaid
//!
//! A server is billed **per started hour of running, charged when the hour
//! starts**. Chosen over per-minute billing because:
//!
//! - charging up front means the balance is checked *before* the server
//!   runs on credit: a wallet can never be asked for time already used, and
//!   "no negative balance" is then a rule the ledger enforces, not a debt
//!   to chase;
//! - one ledger entry per hour keeps a customer's history readable (a
//!   minute-billed month is 43 200 entries) and the ledger small;
//! - the issue asks for hourly billing, and the price is set per hour.
//!
//! Hours are anchored at the server's wake, not at the clock: waking at
//! 10:59 buys 10:59–11:59, not two clock hours. A paid hour covers the
//! server however often it hibernates and wakes inside it, so the wake
//! proxy's idle hibernation never costs extra. Precisely: walk the running
//! intervals in order with `paid_until` (initially none); an interval
//! `[a, b)` needs hours starting at `max(a, paid_until)`, then back to back
//! every hour while the server still runs at their start.
//!
//! # The hold at wake
//!
//! The hold is the first hour itself: waking a server starts an hour that
//! is charged at once ([`wake_hold`]). If the wallet cannot pay it, the
//! wake is refused and the server stays asleep. Waking inside an hour
//! already paid costs nothing.
//!
//! Crash-safe order for a wake at `w`: record `Running` at `w`, post the
//! hold, start the server. If the hold is refused, record `Hibernated` at
//! the same `w` (an empty interval, never billed) and do not start it. A
//! crash between the steps leaves a recorded wake whose hold the next
//! billing pass posts under the same key, so nothing is charged twice or
//! lost.
//!
//! # Hibernation for want of credit
//!
//! When a running server's next hour comes and its charge is refused for
//! insufficient funds, the server is hibernated, and the hibernation is
//! recorded **at the start of the unpaid hour** ([`Decision::Hibernate`]):
//! the hour was never started as far as billing goes, so the recomputed
//! plan does not ask for it again. [`decide`] tells ahead of time whether
//! the balance covers the next hour (for warnings, and to hibernate
//! without even trying).
//!
//! # Safe to rerun
//!
//! Each hour's charge carries the key `charge:<server>:<hour start ms>`.
//! The same transitions always give the same hours and keys, so a billing
//! loop that crashes, restarts or runs twice recomputes the same charges
//! and the ledger's idempotency posts each once.

pub mod biller;

pub use biller::{BillError, Biller, Settled};

use crate::ledger::{IdemKey, Millis, RuleError, Tx};

/// One billing period: an hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;

/// The most periods one [`plan`] computes (about eleven years of hours):
/// a guard against absurd timestamps.
pub const MAX_PERIODS: usize = 100_000;

/// A server's state after a transition: running is billed, hibernated,
/// crashed and deleted are not, and nothing follows deleted.
pub use crate::servers::ServerState;

/// A server entered `state` at `at_ms` (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    /// When, Unix ms.
    pub at_ms: i64,
    /// The state entered.
    pub state: ServerState,
}

/// Why transitions or a price cannot be billed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    /// The price is not a positive amount within the ledger's bounds.
    #[error("invalid price per hour {0} milli-credits")]
    BadPrice(i64),
    /// A transition is earlier than the one before it, or before 1970.
    #[error("transition {index} at {at_ms} ms is out of order")]
    OutOfOrder {
        /// Its position in the list.
        index: usize,
        /// Its time.
        at_ms: i64,
    },
    /// A transition follows the server's deletion.
    #[error("transition {index} follows the server's deletion")]
    AfterDeletion {
        /// Its position in the list.
        index: usize,
    },
    /// More than [`MAX_PERIODS`] hours would be billed at once.
    #[error("more than {MAX_PERIODS} periods to bill: check the timestamps")]
    TooManyPeriods,
    /// The server id cannot appear in a key.
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// One hour of one server to charge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Charge {
    /// Its idempotency key, `charge:<server>:<start_ms>`.
    pub key: IdemKey,
    /// The server.
    pub server: String,
    /// The hour's start, Unix ms.
    pub start_ms: i64,
    /// The hour's end (exclusive).
    pub end_ms: i64,
    /// The price.
    pub amount: Millis,
}

impl Charge {
    /// The ledger transaction charging it to `user`; `who` is what bills
    /// (`billing`).
    pub fn tx(&self, user: &str, who: &str) -> Result<Tx, RuleError> {
        Tx::charge(&self.server, self.start_ms, user, self.amount, who)
    }
}

/// What a server owes up to now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every hour started so far, oldest first (charged or not yet: post
    /// them all, the ledger skips those already posted).
    pub charges: Vec<Charge>,
    /// The end of the last hour in `charges`, if any.
    pub paid_until_ms: Option<i64>,
    /// When the next hour starts if the server keeps running (`None` when
    /// it is not running now).
    pub next_charge_at_ms: Option<i64>,
}

fn check_price(price_per_hour: Millis) -> Result<(), BillingError> {
    if price_per_hour.0 <= 0 || price_per_hour.0 > crate::ledger::rules::MAX_AMOUNT {
        return Err(BillingError::BadPrice(price_per_hour.0));
    }
    Ok(())
}

/// The running intervals `[start, end)` (end `None`: still running) from
/// the transitions up to `now_ms`; later transitions have not happened yet.
fn running_intervals(
    transitions: &[Transition],
    now_ms: i64,
) -> Result<Vec<(i64, Option<i64>)>, BillingError> {
    let mut intervals = Vec::new();
    let mut running_since: Option<i64> = None;
    let mut last = 0i64;
    let mut deleted = false;
    for (index, t) in transitions.iter().enumerate() {
        if t.at_ms < last {
            return Err(BillingError::OutOfOrder {
                index,
                at_ms: t.at_ms,
            });
        }
        if deleted {
            return Err(BillingError::AfterDeletion { index });
        }
        last = t.at_ms;
        if t.at_ms > now_ms {
            continue;
        }
        match t.state {
            ServerState::Running => {
                running_since.get_or_insert(t.at_ms);
            }
            ServerState::Hibernated | ServerState::Crashed | ServerState::Deleted => {
                if let Some(start) = running_since.take() {
                    intervals.push((start, Some(t.at_ms)));
                }
                deleted = t.state == ServerState::Deleted;
            }
        }
    }
    if let Some(start) = running_since {
        intervals.push((start, None));
    }
    Ok(intervals)
}

/// The hours of `server` due by `now_ms` (see the [module docs](self)):
/// every hour that started while the server ran, at `price_per_hour` each.
/// Transitions must be in time order; those after `now_ms` are ignored.
pub fn plan(
    server: &str,
    transitions: &[Transition],
    price_per_hour: Millis,
    now_ms: i64,
) -> Result<Plan, BillingError> {
    check_price(price_per_hour)?;
    // Validates the server id once, for every key below.
    IdemKey::charge(server, 0)?;
    let intervals = running_intervals(transitions, now_ms)?;
    let mut charges = Vec::new();
    let mut paid_until: Option<i64> = None;
    let mut next_charge_at_ms = None;
    for (start, end) in intervals {
        let mut t = paid_until.map_or(start, |p| p.max(start));
        loop {
            let started = match end {
                Some(end) => t < end,
                None => t <= now_ms,
            };
            if !started {
                break;
            }
            if charges.len() >= MAX_PERIODS {
                return Err(BillingError::TooManyPeriods);
            }
            let end_ms = t.saturating_add(HOUR_MS);
            charges.push(Charge {
                key: IdemKey::charge(server, t)?,
                server: server.to_string(),
                start_ms: t,
                end_ms,
                amount: price_per_hour,
            });
            paid_until = Some(end_ms);
            t = end_ms;
        }
        if end.is_none() {
            next_charge_at_ms = Some(t);
        }
    }
    Ok(Plan {
        charges,
        paid_until_ms: paid_until,
        next_charge_at_ms,
    })
}

/// The hold to charge when `server` wakes at `at_ms`: the hour starting
/// then, or `None` when `at_ms` falls inside an hour already due (paid).
/// `transitions` are those before the wake (see the [module docs](self)
/// for the order of recording and posting).
pub fn wake_hold(
    server: &str,
    transitions: &[Transition],
    price_per_hour: Millis,
    at_ms: i64,
) -> Result<Option<Charge>, BillingError> {
    let before = plan(server, transitions, price_per_hour, at_ms)?;
    if before.next_charge_at_ms.is_some() {
        // Already running: nothing to wake.
        return Ok(None);
    }
    let mut woken = transitions.to_vec();
    woken.push(Transition {
        at_ms,
        state: ServerState::Running,
    });
    let after = plan(server, &woken, price_per_hour, at_ms)?;
    Ok(after
        .charges
        .into_iter()
        .find(|c| c.start_ms == at_ms && !before.charges.contains(c)))
}

/// What to do about a running server, given its wallet's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The balance covers the next hour.
    KeepRunning,
    /// It does not: hibernate, and record the hibernation at `at_ms` (the
    /// start of the hour that cannot be paid).
    Hibernate {
        /// When the unpaid hour starts (and the server's billing ends).
        at_ms: i64,
    },
}

/// Whether a server running per `plan` can go on: [`Decision::Hibernate`]
/// when `balance` cannot cover the next hour at `price_per_hour`.
/// A server not running needs nothing: [`Decision::KeepRunning`].
pub fn decide(plan: &Plan, balance: Millis, price_per_hour: Millis) -> Decision {
    match plan.next_charge_at_ms {
        Some(at_ms) if balance < price_per_hour => Decision::Hibernate { at_ms },
        _ => Decision::KeepRunning,
    }
}
