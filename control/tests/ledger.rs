//! The ledger on SQLite and PostgreSQL: grants, deposits, charges,
//! idempotency, reversals, refusals, history, and the concurrency property
//! the issue demands.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gsp_control::ledger::{
    Account, IdemKey, Kind, Ledger, LedgerError, Millis, Posted, RuleError, Tx,
};
use gsp_store::testing::TestDb;
use gsp_store::Backend;

fn wallet(user: &str) -> Account {
    Account::wallet(user).expect("valid user id")
}

fn credits(n: i64) -> Millis {
    Millis(n * 1000)
}

async fn assert_sound(ledger: &Ledger) {
    let audit = ledger.audit().await.expect("audit");
    assert_eq!(audit.total, 0, "money is conserved");
    assert!(audit.unbalanced.is_empty(), "{:?}", audit.unbalanced);
    assert!(
        audit.cache_mismatches.is_empty(),
        "{:?}",
        audit.cache_mismatches
    );
    assert_eq!(audit.negative_wallet_postings, 0);
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn grant_deposit_charge_and_history(test) {
        let ledger = Ledger::new(test.db().clone());
        let u = wallet("u1");
        assert_eq!(ledger.balance(&u).await.expect("balance"), Millis::ZERO);
        assert!(ledger.grant("root", "req-1", "u1", credits(10), "welcome").await.expect("grant").is_new());
        assert!(ledger.deposit("pi_1", "u1", credits(5), "stripe:evt_1").await.expect("deposit").is_new());
        let charged = ledger.charge("srv-1", 3_600_000, "u1", Millis(2_500), "billing").await.expect("charge");
        assert_eq!(charged.recorded().kind, Kind::Charge);
        assert_eq!(ledger.balance(&u).await.expect("balance"), Millis(12_500));
        assert_eq!(ledger.balance(&Account::REVENUE).await.expect("balance"), Millis(2_500));
        assert_eq!(ledger.balance(&Account::GRANTS).await.expect("balance"), Millis(-10_000));
        assert_eq!(ledger.balance(&Account::PAYMENTS).await.expect("balance"), Millis(-5_000));

        let history = ledger.history(&u, 10).await.expect("history");
        let lines: Vec<(String, &str, i64, i64, i64)> = history
            .iter()
            .map(|e| (e.key.to_string(), e.who.as_str(), e.amount.0, e.balance_after.0, e.seq))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("charge:srv-1:3600000".to_string(), "billing", -2_500, 12_500, 3),
                ("deposit:pi_1".to_string(), "stripe:evt_1", 5_000, 15_000, 2),
                ("grant:root:req-1".to_string(), "admin:root", 10_000, 10_000, 1),
            ]
        );
        assert_eq!(history[2].memo, "welcome");
        assert!(history.iter().all(|e| e.created_ms > 1_600_000_000_000));
        assert_eq!(ledger.history(&u, 1).await.expect("history").len(), 1);
        // Pages: after the newest, the two older ones, then nothing.
        let page: Vec<i64> = ledger.history_before(&u, Some(3), 10).await.expect("page").iter().map(|e| e.seq).collect();
        assert_eq!(page, vec![2, 1]);
        assert!(ledger.history_before(&u, Some(1), 10).await.expect("page").is_empty());
        assert!(ledger.history(&wallet("nobody"), 10).await.expect("history").is_empty());
        assert_sound(&ledger).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn a_used_key_returns_the_original_and_moves_nothing(test) {
        let ledger = Ledger::new(test.db().clone());
        let first = ledger.grant("root", "req-1", "u1", credits(3), "first").await.expect("grant");
        // The same request again, even with another amount: the original.
        let again = ledger.grant("root", "req-1", "u1", credits(300), "again").await.expect("grant");
        assert_eq!(again, Posted::Duplicate(first.recorded().clone()));
        assert_eq!(again.recorded().memo, "first");
        ledger.deposit("pi_9", "u1", credits(2), "stripe:evt_9").await.expect("deposit");
        let replay = ledger.deposit("pi_9", "u1", credits(2), "stripe:evt_9").await.expect("deposit");
        assert!(!replay.is_new());
        let c1 = ledger.charge("s", 0, "u1", credits(1), "billing").await.expect("charge");
        let c2 = ledger.charge("s", 0, "u1", credits(1), "billing").await.expect("charge");
        assert!(c1.is_new() && !c2.is_new());
        assert_eq!(ledger.balance(&wallet("u1")).await.expect("balance"), credits(4));
        assert_eq!(ledger.history(&wallet("u1"), 100).await.expect("history").len(), 3);
        // Keys survive a restart: a new process sees them used.
        let reopened = Ledger::new(test.reopen().await);
        assert!(!reopened.charge("s", 0, "u1", credits(1), "billing").await.expect("charge").is_new());
        assert_eq!(reopened.balance(&wallet("u1")).await.expect("balance"), credits(4));
        assert_sound(&ledger).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn a_reversal_restores_the_balance(test) {
        let ledger = Ledger::new(test.db().clone());
        ledger.grant("root", "r1", "u1", credits(5), "").await.expect("grant");
        let key = IdemKey::charge("srv", 7_200_000).expect("key");
        ledger.charge("srv", 7_200_000, "u1", credits(2), "billing").await.expect("charge");
        assert_eq!(ledger.balance(&wallet("u1")).await.expect("balance"), credits(3));
        let reversed = ledger.reverse(&key, "admin:root").await.expect("reverse");
        assert!(reversed.is_new());
        assert_eq!(reversed.recorded().key.to_string(), "reverse:charge:srv:7200000");
        assert_eq!(reversed.recorded().kind, Kind::Reversal);
        assert_eq!(ledger.balance(&wallet("u1")).await.expect("balance"), credits(5));
        assert_eq!(ledger.balance(&Account::REVENUE).await.expect("balance"), Millis::ZERO);
        // Twice: the first reversal, nothing moved.
        assert!(!ledger.reverse(&key, "admin:root").await.expect("reverse").is_new());
        assert_eq!(ledger.balance(&wallet("u1")).await.expect("balance"), credits(5));
        // The original stays in the history, followed by its reversal.
        let history = ledger.history(&wallet("u1"), 10).await.expect("history");
        assert_eq!(history[0].who, "admin:root");
        assert_eq!(history[0].amount, credits(2));
        assert_eq!(history[1].key, key);
        // Reversing a reversal, or an unknown key, is refused.
        let rev_key = reversed.recorded().key.clone();
        assert!(matches!(
            ledger.reverse(&rev_key, "admin:root").await,
            Err(LedgerError::Rule(RuleError::NotReversible(_)))
        ));
        let unknown = IdemKey::deposit("never").expect("key");
        assert!(matches!(
            ledger.reverse(&unknown, "admin:root").await,
            Err(LedgerError::UnknownTransaction(k)) if k == unknown
        ));
        // A credit already spent cannot be reversed into a negative wallet.
        ledger.deposit("pi_1", "u2", credits(4), "stripe").await.expect("deposit");
        ledger.charge("srv", 0, "u2", credits(3), "billing").await.expect("charge");
        assert!(matches!(
            ledger.reverse(&IdemKey::deposit("pi_1").expect("key"), "admin:root").await,
            Err(LedgerError::InsufficientFunds { .. })
        ));
        assert_eq!(ledger.balance(&wallet("u2")).await.expect("balance"), credits(1));
        assert_sound(&ledger).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn insufficient_funds_change_nothing(test) {
        let ledger = Ledger::new(test.db().clone());
        ledger.grant("root", "r1", "u1", credits(1), "").await.expect("grant");
        let before = ledger.audit().await.expect("audit");
        let refused = ledger.charge("srv", 0, "u1", credits(2), "billing").await;
        match refused {
            Err(LedgerError::InsufficientFunds { account, balance, needed }) => {
                assert_eq!(account, wallet("u1"));
                assert_eq!(balance, credits(1));
                assert_eq!(needed, credits(2));
            }
            other => panic!("expected insufficient funds, got {other:?}"),
        }
        // A wallet never seen is empty, not a crash.
        assert!(matches!(
            ledger.charge("srv", 1, "ghost", Millis(1), "billing").await,
            Err(LedgerError::InsufficientFunds { balance: Millis::ZERO, .. })
        ));
        assert_eq!(ledger.audit().await.expect("audit"), before);
        assert_eq!(ledger.transaction(&IdemKey::charge("srv", 0).expect("key")).await.expect("read"), None);
        assert_eq!(ledger.history(&wallet("u1"), 10).await.expect("history").len(), 1);
        // Not recorded, so the same key may succeed once funds arrive.
        ledger.deposit("pi_1", "u1", credits(1), "stripe").await.expect("deposit");
        assert!(ledger.charge("srv", 0, "u1", credits(2), "billing").await.expect("charge").is_new());
        assert_eq!(ledger.balance(&wallet("u1")).await.expect("balance"), Millis::ZERO);
        // Bad input is refused before the database.
        assert!(matches!(
            ledger.charge("srv", 2, "u1", Millis(-5), "billing").await,
            Err(LedgerError::Rule(RuleError::BadAmount(-5)))
        ));
        assert!(matches!(
            ledger.grant("root", "r:2", "u1", credits(1), "").await,
            Err(LedgerError::Rule(RuleError::BadId { .. }))
        ));
        assert_sound(&ledger).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn concurrent_charges_on_one_wallet_never_overspend(test) {
        let ledger = Ledger::new(test.db().clone());
        ledger.grant("root", "r1", "u1", credits(10), "").await.expect("grant");
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let ledger = ledger.clone();
                tokio::spawn(async move { ledger.charge(&format!("s{i}"), 0, "u1", credits(1), "billing").await })
            })
            .collect();
        let (mut posted, mut refused) = (0, 0);
        for task in tasks {
            match task.await.expect("task") {
                Ok(p) if p.is_new() => posted += 1,
                Err(LedgerError::InsufficientFunds { .. }) => refused += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((posted, refused), (10, 40));
        assert_eq!(ledger.balance(&wallet("u1")).await.expect("balance"), Millis::ZERO);
        assert_sound(&ledger).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn concurrent_deliveries_of_one_key_post_once(test) {
        let ledger = Ledger::new(test.db().clone());
        ledger.grant("root", "r1", "u1", credits(100), "").await.expect("grant");
        let tx = Tx::charge("srv", 0, "u1", credits(1), "billing").expect("tx");
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (ledger, tx) = (ledger.clone(), tx.clone());
                tokio::spawn(async move { ledger.post(&tx).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("task").expect("posted"));
        }
        assert_eq!(results.iter().filter(|p| p.is_new()).count(), 1);
        let original = results.iter().find(|p| p.is_new()).expect("one new").recorded().clone();
        assert!(results.iter().all(|p| *p.recorded() == original));
        assert_eq!(ledger.balance(&wallet("u1")).await.expect("balance"), credits(99));
        assert_sound(&ledger).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn billing_can_rerun_and_hibernates_when_credit_runs_out(test) {
        use gsp_control::billing::{decide, plan, Decision, ServerState, Transition, HOUR_MS};
        let ledger = Ledger::new(test.db().clone());
        let price = credits(2);
        ledger.grant("root", "r1", "u1", credits(5), "").await.expect("grant");
        let t0 = 1_700_000_000_000;
        let mut transitions = vec![Transition { at_ms: t0, state: ServerState::Running }];
        // A billing pass: post every hour due; stop at the first refusal.
        async fn pass(ledger: &Ledger, transitions: &[Transition], price: Millis, now: i64) -> (usize, Option<i64>) {
            let due = plan("srv", transitions, price, now).expect("plan");
            let mut new = 0;
            for charge in &due.charges {
                match ledger.post(&charge.tx("u1", "billing").expect("tx")).await {
                    Ok(p) => new += usize::from(p.is_new()),
                    Err(LedgerError::InsufficientFunds { .. }) => return (new, Some(charge.start_ms)),
                    Err(e) => panic!("{e}"),
                }
            }
            (new, None)
        }
        let now = t0 + HOUR_MS + 5;
        assert_eq!(pass(&ledger, &transitions, price, now).await, (2, None));
        // A restart runs the same pass again: nothing is charged twice.
        assert_eq!(pass(&ledger, &transitions, price, now).await, (0, None));
        assert_eq!(ledger.balance(&wallet("u1")).await.expect("balance"), credits(1));
        // 1 credit left cannot cover the next hour.
        let p = plan("srv", &transitions, price, now).expect("plan");
        let balance = ledger.balance(&wallet("u1")).await.expect("balance");
        assert_eq!(decide(&p, balance, price), Decision::Hibernate { at_ms: t0 + 2 * HOUR_MS });
        // When that hour comes, its charge is refused; the server is
        // hibernated as of the hour's start, and the hour is never billed.
        let later = t0 + 2 * HOUR_MS + 10;
        let (new, refused_at) = pass(&ledger, &transitions, price, later).await;
        assert_eq!((new, refused_at), (0, Some(t0 + 2 * HOUR_MS)));
        transitions.push(Transition { at_ms: t0 + 2 * HOUR_MS, state: ServerState::Hibernated });
        assert_eq!(pass(&ledger, &transitions, price, later + HOUR_MS).await, (0, None));
        assert_eq!(ledger.balance(&wallet("u1")).await.expect("balance"), credits(1));
        let history = ledger.history(&wallet("u1"), 10).await.expect("history");
        assert_eq!(history.iter().filter(|e| e.kind == Kind::Charge).count(), 2);
        assert_sound(&ledger).await;
    }
}

// ---------------------------------------------------------------------------
// The property: concurrent chargers with retries and duplicate deliveries.

const USERS: usize = 6;
const SERVERS: usize = 10;
const PERIODS: i64 = 15;
const PAYMENTS: usize = 40;
const TASKS: usize = 100;
const OPS_PER_TASK: usize = 8;
const SEEDS: [u64; 5] = [1, 2, 2026, 0xfeed, 0x5eed_1e55];

#[derive(Debug)]
enum Outcome {
    New,
    Duplicate,
    Refused {
        balance: Millis,
        needed: Millis,
    },
    /// Given up on by the caller (timed out): may or may not have posted.
    Abandoned,
}

/// The world a seed generates: who owns what, prices, payments.
struct Scenario {
    owner: Vec<usize>,
    price: Vec<i64>,
    payment: Vec<(usize, i64)>,
}

fn user(i: usize) -> String {
    format!("u{i}")
}

fn charge_tx(s: &Scenario, server: usize, period: i64) -> Tx {
    Tx::charge(
        &format!("srv{server}"),
        period * 3_600_000,
        &user(s.owner[server]),
        Millis(s.price[server]),
        "billing",
    )
    .expect("valid charge")
}

fn deposit_tx(s: &Scenario, payment: usize) -> Tx {
    let (u, amount) = s.payment[payment];
    Tx::deposit(
        &format!("pi_{payment}"),
        &user(u),
        Millis(amount),
        "stripe:webhook",
    )
    .expect("valid deposit")
}

async fn concurrent_chargers(test: TestDb, seed: u64) {
    let started = Instant::now();
    let ledger = Ledger::new(test.db().clone());
    let mut rng = fastrand::Rng::with_seed(seed);
    let scenario = Arc::new(Scenario {
        owner: (0..SERVERS).map(|_| rng.usize(0..USERS)).collect(),
        price: (0..SERVERS).map(|_| rng.i64(200..2_000)).collect(),
        payment: (0..PAYMENTS)
            .map(|_| (rng.usize(0..USERS), rng.i64(500..6_000)))
            .collect(),
    });
    // Initial grants (some users get nothing).
    let mut granted = vec![0i64; USERS];
    for (u, g) in granted.iter_mut().enumerate() {
        let amount = rng.i64(0..10) * 1000;
        if amount > 0 {
            ledger
                .grant(
                    "root",
                    &format!("seed-{u}"),
                    &user(u),
                    Millis(amount),
                    "start",
                )
                .await
                .expect("grant");
            *g = amount;
        }
    }

    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let ledger = ledger.clone();
        let scenario = scenario.clone();
        let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(1_000).wrapping_add(t as u64));
        tasks.push(tokio::spawn(async move {
            let mut outcomes: Vec<(Tx, Outcome)> = Vec::new();
            for _ in 0..OPS_PER_TASK {
                let tx = if rng.u8(0..100) < 85 {
                    charge_tx(&scenario, rng.usize(0..SERVERS), rng.i64(0..PERIODS))
                } else {
                    deposit_tx(&scenario, rng.usize(0..PAYMENTS))
                };
                // A delivery, then maybe redeliveries (a retry after a lost
                // answer, or the queue delivering twice).
                let deliveries =
                    1 + usize::from(rng.u8(0..100) < 30) + usize::from(rng.u8(0..100) < 10);
                let mut left = deliveries;
                while left > 0 {
                    left -= 1;
                    // Sometimes the caller gives up mid-way (a timeout):
                    // the attempt is abandoned, its outcome unknown, and
                    // the caller retries.
                    let attempt = ledger.post(&tx);
                    let result = if rng.u8(0..100) < 10 {
                        let limit = Duration::from_micros(rng.u64(0..20_000));
                        match tokio::time::timeout(limit, attempt).await {
                            Ok(result) => result,
                            Err(_) => {
                                outcomes.push((tx.clone(), Outcome::Abandoned));
                                left += 1;
                                continue;
                            }
                        }
                    } else {
                        attempt.await
                    };
                    let outcome = match result {
                        Ok(Posted::New(r)) => {
                            assert_eq!(r.postings, tx.postings());
                            Outcome::New
                        }
                        Ok(Posted::Duplicate(r)) => {
                            assert_eq!(r.postings, tx.postings(), "the original, as posted");
                            assert_eq!(&r.key, tx.key());
                            Outcome::Duplicate
                        }
                        Err(LedgerError::InsufficientFunds {
                            balance, needed, ..
                        }) => Outcome::Refused { balance, needed },
                        Err(e) => panic!("{} failed: {e}", tx.key()),
                    };
                    outcomes.push((tx.clone(), outcome));
                    tokio::task::yield_now().await;
                }
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.expect("a charger panicked"));
    }

    // The ledger's own invariants.
    assert_sound(&ledger).await;

    // Every key moved money at most once, and exactly the keys seen New
    // are stored.
    let mut new_per_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut refused = 0;
    let mut duplicates = 0;
    let mut abandoned = 0;
    for (tx, outcome) in &outcomes {
        let key = tx.key().to_string();
        let count = new_per_key.entry(key).or_default();
        match outcome {
            Outcome::New => *count += 1,
            Outcome::Duplicate => duplicates += 1,
            Outcome::Abandoned => abandoned += 1,
            Outcome::Refused { balance, needed } => {
                refused += 1;
                assert!(balance < needed, "refused with {balance} for {needed}");
                assert_eq!(
                    tx.key().kind(),
                    Kind::Charge,
                    "only charges take from wallets"
                );
            }
        }
    }
    for (key, count) in &new_per_key {
        assert!(*count <= 1, "{key} posted {count} times");
    }
    let stored: Vec<String> = sqlx::query_scalar("SELECT key FROM ledger_transactions")
        .fetch_all(test.db().pool())
        .await
        .expect("keys");
    let stored: BTreeSet<String> = stored.into_iter().collect();
    let grant_keys: BTreeSet<String> = (0..USERS)
        .filter(|u| granted[*u] > 0)
        .map(|u| format!("grant:root:seed-{u}"))
        .collect();
    for (key, count) in &new_per_key {
        if *count == 1 {
            assert!(stored.contains(key), "{key} answered New but not stored");
        }
    }
    let mut committed_unseen = 0;
    for key in stored.difference(&grant_keys) {
        committed_unseen += usize::from(new_per_key.get(key) != Some(&1));
        let told_new = new_per_key.get(key) == Some(&1);
        // Stored without anyone told so: an abandoned attempt committed.
        let abandoned_here = outcomes
            .iter()
            .any(|(tx, o)| matches!(o, Outcome::Abandoned) && tx.key().to_string() == *key);
        assert!(
            told_new || abandoned_here,
            "{key} stored, yet nobody posted it"
        );
    }
    // A duplicate is only ever answered for a key that was posted.
    for (tx, outcome) in &outcomes {
        if let Outcome::Duplicate = outcome {
            assert!(stored.contains(&tx.key().to_string()));
        }
    }

    // Balances add up from the stored keys' transactions as the chargers
    // built them.
    let mut expect_wallet: Vec<i64> = granted.clone();
    let (mut revenue, mut paid) = (0i64, 0i64);
    let by_key: BTreeMap<String, &Tx> = outcomes
        .iter()
        .map(|(tx, _)| (tx.key().to_string(), tx))
        .collect();
    for key in stored.difference(&grant_keys) {
        let tx = by_key.get(key).expect("a stored key was requested");
        for p in tx.postings() {
            match &p.account {
                Account::Wallet(u) => {
                    let i: usize = u[1..].parse().expect("u<i>");
                    expect_wallet[i] += p.amount.0;
                }
                a if *a == Account::REVENUE => revenue += p.amount.0,
                _ => paid -= p.amount.0,
            }
        }
    }
    let mut wallets_total = 0;
    for (u, expected) in expect_wallet.iter().enumerate() {
        let balance = ledger.balance(&wallet(&user(u))).await.expect("balance").0;
        assert_eq!(balance, *expected, "wallet u{u}");
        assert!(balance >= 0);
        wallets_total += balance;
    }
    let revenue_balance = ledger.balance(&Account::REVENUE).await.expect("balance").0;
    let payments = ledger.balance(&Account::PAYMENTS).await.expect("balance").0;
    let grants = ledger.balance(&Account::GRANTS).await.expect("balance").0;
    assert_eq!(revenue_balance, revenue);
    assert_eq!(payments, -paid);
    assert_eq!(grants, -granted.iter().sum::<i64>());
    assert_eq!(wallets_total + revenue_balance + payments + grants, 0);

    // No wallet was below zero at any time: each account's postings,
    // in order, are numbered 1..n and their balances a running sum.
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT account, account_seq, amount, balance_after FROM ledger_postings ORDER BY account, account_seq",
    )
    .fetch_all(test.db().pool())
    .await
    .expect("postings");
    let mut running: HashMap<String, (i64, i64)> = HashMap::new();
    let mut seen_balances: HashMap<String, BTreeSet<i64>> = HashMap::new();
    for (account, seq, amount, after) in rows {
        let (last_seq, last_balance) = running.entry(account.clone()).or_insert((0, 0));
        assert_eq!(seq, *last_seq + 1, "{account} numbered in order");
        assert_eq!(after, *last_balance + amount, "{account} running balance");
        if account.starts_with("wallet:") {
            assert!(after >= 0, "{account} went to {after}");
        }
        *last_seq = seq;
        *last_balance = after;
        seen_balances
            .entry(account)
            .or_insert_with(|| BTreeSet::from([0]))
            .insert(after);
    }
    // Every refusal quoted a balance the wallet really had at some point.
    for (tx, outcome) in &outcomes {
        if let Outcome::Refused { balance, .. } = outcome {
            let account = tx
                .postings()
                .iter()
                .find(|p| p.account.is_wallet())
                .expect("a wallet")
                .account
                .to_string();
            let seen = seen_balances
                .get(&account)
                .cloned()
                .unwrap_or_else(|| BTreeSet::from([0]));
            assert!(seen.contains(&balance.0), "{account} never had {balance}");
        }
    }

    // The run exercised what it claims to.
    let posted = stored.len() - grant_keys.len();
    assert!(
        refused > 0 && duplicates > 0 && posted > 0 && abandoned > 0,
        "refused {refused}, duplicates {duplicates}, posted {posted}"
    );
    eprintln!(
        "{} seed {seed}: {} deliveries, {posted} posted, {duplicates} duplicates, {refused} refused, {abandoned} abandoned \
         ({committed_unseen} of them committed), in {:?}",
        test.backend(),
        outcomes.len(),
        started.elapsed()
    );
}

/// Each seed on a fresh database of `backend`.
fn property(backend: Backend) {
    for seed in SEEDS {
        gsp_store::testing::run_with(backend, &gsp_control::db::MIGRATOR, move |test| {
            concurrent_chargers(test, seed)
        });
    }
}

#[test]
fn concurrent_chargers_conserve_money_and_charge_each_key_once_sqlite() {
    property(Backend::Sqlite);
}

#[test]
fn concurrent_chargers_conserve_money_and_charge_each_key_once_postgres() {
    property(Backend::Postgres);
}
