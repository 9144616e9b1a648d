//! Billing rules without a database: which hours are due, the hold at
//! wake, hibernation, and stable keys across restarts.

use gsp_control::billing::{
    decide, plan, wake_hold, BillingError, Decision, ServerState, Transition, HOUR_MS,
};
use gsp_control::ledger::Millis;

const PRICE: Millis = Millis(1_500);
/// An arbitrary hour-unaligned base time.
const T0: i64 = 1_700_000_123_456;
const MIN: i64 = 60_000;

fn tr(at_ms: i64, state: ServerState) -> Transition {
    Transition { at_ms, state }
}

fn starts(transitions: &[Transition], now: i64) -> Vec<i64> {
    plan("srv", transitions, PRICE, now)
        .expect("valid")
        .charges
        .iter()
        .map(|c| c.start_ms - T0)
        .collect()
}

#[test]
fn a_wake_charges_its_first_hour_at_once_and_each_started_hour_after() {
    let run = [tr(T0, ServerState::Running)];
    assert_eq!(starts(&run, T0), vec![0], "the hold, at the wake itself");
    assert_eq!(starts(&run, T0 + HOUR_MS - 1), vec![0]);
    assert_eq!(
        starts(&run, T0 + HOUR_MS),
        vec![0, HOUR_MS],
        "the second hour is due as it starts"
    );
    assert_eq!(
        starts(&run, T0 - 1),
        Vec::<i64>::new(),
        "a wake in the future has not happened"
    );
    let p = plan("srv", &run, PRICE, T0 + 90 * MIN).expect("valid");
    assert_eq!(p.next_charge_at_ms, Some(T0 + 2 * HOUR_MS));
    assert_eq!(p.paid_until_ms, Some(T0 + 2 * HOUR_MS));
    assert!(p
        .charges
        .iter()
        .all(|c| c.amount == PRICE && c.end_ms == c.start_ms + HOUR_MS));
    assert_eq!(
        p.charges[1].key.to_string(),
        format!("charge:srv:{}", T0 + HOUR_MS)
    );
}

#[test]
fn hours_are_anchored_at_the_wake_and_a_paid_hour_covers_rewakes() {
    let transitions = [
        tr(T0, ServerState::Running),
        tr(T0 + 20 * MIN, ServerState::Hibernated),
        tr(T0 + 40 * MIN, ServerState::Running), // inside the paid hour: free
        tr(T0 + 90 * MIN, ServerState::Hibernated), // runs into a second hour
        tr(T0 + 5 * HOUR_MS + 7, ServerState::Running), // a new hour from here
        tr(T0 + 5 * HOUR_MS + 8, ServerState::Deleted),
    ];
    let now = T0 + 10 * HOUR_MS;
    assert_eq!(starts(&transitions, now), vec![0, HOUR_MS, 5 * HOUR_MS + 7]);
    let p = plan("srv", &transitions, PRICE, now).expect("valid");
    assert_eq!(p.next_charge_at_ms, None, "deleted: nothing more to bill");
}

#[test]
fn stopping_exactly_at_an_hour_boundary_does_not_start_the_next_hour() {
    let transitions = [
        tr(T0, ServerState::Running),
        tr(T0 + HOUR_MS, ServerState::Hibernated),
    ];
    assert_eq!(starts(&transitions, T0 + 3 * HOUR_MS), vec![0]);
    // Repeated "running" transitions do not restart the hour.
    let repeated = [
        tr(T0, ServerState::Running),
        tr(T0 + 30 * MIN, ServerState::Running),
        tr(T0 + 70 * MIN, ServerState::Hibernated),
    ];
    assert_eq!(starts(&repeated, T0 + 3 * HOUR_MS), vec![0, HOUR_MS]);
}

#[test]
fn recomputing_after_a_restart_gives_the_same_keys() {
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..200 {
        let mut transitions = Vec::new();
        let mut at = T0;
        for _ in 0..rng.usize(0..12) {
            at += rng.i64(0..3 * HOUR_MS);
            let state = if rng.bool() {
                ServerState::Running
            } else {
                ServerState::Hibernated
            };
            transitions.push(tr(at, state));
        }
        let now = at + rng.i64(0..5 * HOUR_MS);
        let once = plan("srv", &transitions, PRICE, now).expect("valid");
        let again = plan("srv", &transitions.clone(), PRICE, now).expect("valid");
        assert_eq!(once, again);
        // A later run (after a restart) only adds hours: every key billed
        // before is billed again, identically, so the ledger skips it.
        let later = plan("srv", &transitions, PRICE, now + rng.i64(0..3 * HOUR_MS)).expect("valid");
        assert!(later.charges.starts_with(&once.charges), "{transitions:?}");
        // Hours never overlap and each starts while the server ran.
        for pair in later.charges.windows(2) {
            assert!(pair[1].start_ms >= pair[0].end_ms);
        }
        let keys: std::collections::HashSet<_> = later.charges.iter().map(|c| &c.key).collect();
        assert_eq!(keys.len(), later.charges.len());
    }
}

#[test]
fn the_wake_hold_is_the_first_hour_unless_one_is_paid() {
    let asleep = [
        tr(T0, ServerState::Running),
        tr(T0 + 10 * MIN, ServerState::Hibernated),
    ];
    assert_eq!(
        wake_hold("srv", &asleep, PRICE, T0 + 30 * MIN).expect("valid"),
        None,
        "inside the paid hour"
    );
    let hold = wake_hold("srv", &asleep, PRICE, T0 + 2 * HOUR_MS)
        .expect("valid")
        .expect("a new hour");
    assert_eq!(hold.start_ms, T0 + 2 * HOUR_MS);
    assert_eq!(hold.amount, PRICE);
    assert_eq!(
        hold.key.to_string(),
        format!("charge:srv:{}", T0 + 2 * HOUR_MS)
    );
    // The hold is the charge the plan asks for once the wake is recorded.
    let woken = [
        asleep[0],
        asleep[1],
        tr(T0 + 2 * HOUR_MS, ServerState::Running),
    ];
    let p = plan("srv", &woken, PRICE, T0 + 2 * HOUR_MS).expect("valid");
    assert_eq!(p.charges.last(), Some(&hold));
    // Already running: no hold.
    assert_eq!(
        wake_hold("srv", &woken, PRICE, T0 + 2 * HOUR_MS + 1).expect("valid"),
        None
    );
    // A brand-new server's first wake holds its first hour.
    let first = wake_hold("srv", &[], PRICE, T0)
        .expect("valid")
        .expect("hold");
    assert_eq!(first.start_ms, T0);
}

#[test]
fn hibernation_when_the_balance_cannot_cover_the_next_hour() {
    let run = [tr(T0, ServerState::Running)];
    let p = plan("srv", &run, PRICE, T0 + 10 * MIN).expect("valid");
    assert_eq!(decide(&p, PRICE, PRICE), Decision::KeepRunning);
    assert_eq!(
        decide(&p, Millis(PRICE.0 - 1), PRICE),
        Decision::Hibernate {
            at_ms: T0 + HOUR_MS
        }
    );
    // Recorded at the unpaid hour's start, that hour is never asked for.
    let hibernated = [run[0], tr(T0 + HOUR_MS, ServerState::Hibernated)];
    assert_eq!(starts(&hibernated, T0 + 5 * HOUR_MS), vec![0]);
    // A server that is not running needs nothing.
    let p = plan("srv", &hibernated, PRICE, T0 + 5 * HOUR_MS).expect("valid");
    assert_eq!(decide(&p, Millis(0), PRICE), Decision::KeepRunning);
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let run = [tr(T0, ServerState::Running)];
    assert_eq!(
        plan("srv", &run, Millis(0), T0),
        Err(BillingError::BadPrice(0))
    );
    assert_eq!(
        plan("srv", &run, Millis(-5), T0),
        Err(BillingError::BadPrice(-5))
    );
    assert!(matches!(
        plan("a:b", &run, PRICE, T0),
        Err(BillingError::Rule(_))
    ));
    let unordered = [
        tr(T0, ServerState::Running),
        tr(T0 - 1, ServerState::Hibernated),
    ];
    assert_eq!(
        plan("srv", &unordered, PRICE, T0),
        Err(BillingError::OutOfOrder {
            index: 1,
            at_ms: T0 - 1
        })
    );
    let after_delete = [
        tr(T0, ServerState::Deleted),
        tr(T0 + 1, ServerState::Running),
    ];
    assert_eq!(
        plan("srv", &after_delete, PRICE, T0 + 2),
        Err(BillingError::AfterDeletion { index: 1 })
    );
    assert_eq!(
        plan("srv", &[tr(0, ServerState::Running)], PRICE, i64::MAX),
        Err(BillingError::TooManyPeriods)
    );
}

#[test]
fn a_refused_wake_recorded_as_an_empty_interval_is_never_billed() {
    let w = T0 + 3 * HOUR_MS;
    let transitions = [
        tr(T0, ServerState::Running),
        tr(T0 + 10 * MIN, ServerState::Hibernated),
        tr(w, ServerState::Running),
        tr(w, ServerState::Hibernated),
    ];
    assert_eq!(starts(&transitions, w + 5 * HOUR_MS), vec![0]);
}
