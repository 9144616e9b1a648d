//! The billing shell against a real database, with the clock passed in:
//! the hold at creation, hourly charges as hours start, and hibernation
//! (recorded at the unpaid hour's start, then stopped on the node) when the
//! wallet runs dry. On SQLite and PostgreSQL.

use gsp_persistence::testing::TestDb;
use gsp_platform::auth::{Role, Users};
use gsp_platform::billing::{Biller, Settled, HOUR_MS};
use gsp_platform::ledger::{Account, Ledger, Millis};
use gsp_platform::servers::{ServerState, Servers};

#[path = "support/template.rs"]
mod template;
use template::command_template;

#[path = "support/recorder.rs"]
mod recorder;
use recorder::Recorder;

const PRICE: i64 = template::PRICE_PER_HOUR;

async fn billing_runs_and_hibernates(t: TestDb) {
    let db = t.db().clone();
    let servers = Servers::new(db.clone());
    let ledger = Ledger::new(db.clone());
    let biller = Biller::new(servers.clone(), ledger.clone());
    let owner = Users::new(db.clone())
        .create("ada@x.com", Some("correct horse"), Role::Customer)
        .await
        .unwrap();
    let wallet = Account::wallet(&owner.id.to_string()).unwrap();
    ledger
        .grant(
            "1",
            "r1",
            &owner.id.to_string(),
            Millis(3 * PRICE + 200),
            "",
        )
        .await
        .unwrap();
    let template = servers
        .create_template(&command_template("world"))
        .await
        .unwrap();
    let server = servers.create(owner.id, template.id, "town").await.unwrap();
    let woke = servers.history(server.id).await.unwrap()[0].1;

    // The hold: the first hour, posted once however often it settles.
    for posted in [1, 0] {
        let settled = biller.settle(&server, woke, "user:1").await.unwrap();
        assert_eq!(
            settled,
            Settled::Paid {
                next_charge_at_ms: Some(woke + HOUR_MS),
                posted,
            }
        );
    }
    assert_eq!(
        ledger.balance(&wallet).await.unwrap(),
        Millis(2 * PRICE + 200)
    );

    // The loop pass at each hour's start charges it; nothing stops.
    let agent = Recorder::default();
    for hour in 1..=2 {
        let hibernated = biller
            .bill_running(&agent, woke + hour * HOUR_MS + 1)
            .await
            .unwrap();
        assert_eq!(hibernated, 0);
    }
    assert_eq!(ledger.balance(&wallet).await.unwrap(), Millis(200));
    assert!(agent.calls().is_empty());

    // The fourth hour cannot be paid: hibernated at its start, stopped.
    let unpaid = woke + 3 * HOUR_MS;
    let hibernated = biller.bill_running(&agent, unpaid + 5_000).await.unwrap();
    assert_eq!(hibernated, 1);
    assert_eq!(agent.calls(), vec![format!("stop {}", server.id)]);
    let history = servers.history(server.id).await.unwrap();
    assert_eq!(
        history.last().unwrap(),
        &(ServerState::Hibernated, unpaid, "billing".to_string())
    );
    assert_eq!(ledger.balance(&wallet).await.unwrap(), Millis(200));
    // The pass after finds nothing running and charges nothing.
    assert_eq!(
        biller.bill_running(&agent, unpaid + HOUR_MS).await.unwrap(),
        0
    );
    assert_eq!(agent.calls().len(), 1);

    // A wake it cannot pay is recorded and undone at the same instant.
    let at = unpaid + 2 * HOUR_MS;
    let running = servers
        .transition(server.id, ServerState::Running, at, "user:1")
        .await
        .unwrap();
    let settled = biller.settle(&running, at, "user:1").await.unwrap();
    assert_eq!(
        settled,
        Settled::Hibernated {
            at_ms: at,
            balance: Millis(200),
            price: Millis(PRICE)
        }
    );
    let history = servers.history(server.id).await.unwrap();
    let tail: Vec<_> = history[history.len() - 2..]
        .iter()
        .map(|(s, at, _)| (*s, *at))
        .collect();
    assert_eq!(
        tail,
        vec![(ServerState::Running, at), (ServerState::Hibernated, at)]
    );

    // Every charge is in the history with its cause, and the books balance.
    let entries = ledger.history(&wallet, 10).await.unwrap();
    let whos: Vec<_> = entries.iter().map(|e| e.who.as_str()).collect();
    assert_eq!(whos, vec!["billing", "billing", "user:1", "admin:1"]);
    let audit = ledger.audit().await.unwrap();
    assert_eq!((audit.total, audit.negative_wallet_postings), (0, 0));
    assert!(audit.unbalanced.is_empty() && audit.cache_mismatches.is_empty());
}

gsp_persistence::both_backends! {
    migrations = &gsp_platform::db::MIGRATOR;
    fn billing_runs_and_hibernates(t) {
        billing_runs_and_hibernates(t).await;
    }
}
