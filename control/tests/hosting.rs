//! The server lifecycle (`control::hosting`) against a real database, on
//! SQLite and PostgreSQL, with a recording orchestrator in place of the
//! node agents: one test per rule.
//!
//! Billing, with the clock passed in: the hold at creation, hourly charges
//! as hours start, and hibernation (recorded at the unpaid hour's start,
//! then stopped on the node) when the wallet runs dry.

use std::sync::Arc;

use gsp_agent_api::{ExitOutcome, Exited};
use gsp_control::auth::{now_ms, Caller, Role, Users};
use gsp_control::backup::{BackupError, BackupStore};
use gsp_control::billing::HOUR_MS;
use gsp_control::hosting::{Hosting, HostingError, Settled, IDLE, NODE_RESTARTED, PROXY};
use gsp_control::ledger::{Account, Ledger, Millis};
use gsp_control::servers::orchestrator::OrchestratorError;
use gsp_control::servers::{ServerError, ServerState, Servers};
use gsp_control::testing::{command_template, Recorder};
use gsp_store::testing::TestDb;

const PRICE: i64 = gsp_control::testing::PRICE_PER_HOUR;

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn billing_runs_and_hibernates(t) {
        let db = t.db().clone();
        let servers = Servers::new(db.clone());
        let ledger = Ledger::new(db.clone());
        let agent = Arc::new(Recorder::default());
        let hosting = Hosting::new(servers.clone(), ledger.clone()).with_orchestrator(agent.clone());
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
            let settled = hosting.settle(&server, woke, "user:1").await.unwrap();
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
        for hour in 1..=2 {
            let hibernated = hosting
                .bill_running(woke + hour * HOUR_MS + 1)
                .await
                .unwrap();
            assert_eq!(hibernated, 0);
        }
        assert_eq!(ledger.balance(&wallet).await.unwrap(), Millis(200));
        assert!(agent.calls().is_empty());

        // The fourth hour cannot be paid: hibernated at its start, stopped.
        let unpaid = woke + 3 * HOUR_MS;
        let hibernated = hosting.bill_running(unpaid + 5_000).await.unwrap();
        assert_eq!(hibernated, 1);
        assert_eq!(agent.calls(), vec![format!("stop {}", server.id)]);
        let history = servers.history(server.id).await.unwrap();
        assert_eq!(
            history.last().unwrap(),
            &(ServerState::Hibernated, unpaid, "billing".to_string())
        );
        assert_eq!(ledger.balance(&wallet).await.unwrap(), Millis(200));
        // The pass after finds nothing running and charges nothing.
        assert_eq!(hosting.bill_running(unpaid + HOUR_MS).await.unwrap(), 0);
        assert_eq!(agent.calls().len(), 1);

        // A wake it cannot pay is recorded and undone at the same instant.
        let at = unpaid + 2 * HOUR_MS;
        let running = servers
            .transition(server.id, ServerState::Running, at, "user:1")
            .await
            .unwrap();
        let settled = hosting.settle(&running, at, "user:1").await.unwrap();
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
}

/// A customer with `credits` milli-credits, a template and a hosting
/// whose node calls `agent` records.
struct World {
    hosting: Hosting,
    servers: Servers,
    ledger: Ledger,
    agent: Arc<Recorder>,
    owner: Caller,
    template_id: i64,
}

impl World {
    async fn new(t: &TestDb, credits: i64) -> World {
        let db = t.db().clone();
        let servers = Servers::new(db.clone());
        let ledger = Ledger::new(db.clone());
        let agent = Arc::new(Recorder::default());
        let hosting =
            Hosting::new(servers.clone(), ledger.clone()).with_orchestrator(agent.clone());
        let user = Users::new(db)
            .create("ada@x.com", Some("correct horse"), Role::Customer)
            .await
            .unwrap();
        if credits > 0 {
            ledger
                .grant("1", "r1", &user.id.to_string(), Millis(credits), "")
                .await
                .unwrap();
        }
        let template = servers
            .create_template(&command_template("world"))
            .await
            .unwrap();
        World {
            hosting,
            servers,
            ledger,
            agent,
            owner: Caller {
                user_id: user.id,
                role: Role::Customer,
            },
            template_id: template.id,
        }
    }

    /// A server "town" of the template, made by the customer: its id.
    async fn town(&self) -> i64 {
        self.hosting
            .create(self.owner, self.template_id, "town")
            .await
            .unwrap()
            .id
    }

    async fn balance(&self) -> Millis {
        let wallet = Account::wallet(&self.owner.user_id.to_string()).unwrap();
        self.ledger.balance(&wallet).await.unwrap()
    }

    async fn causes(&self, id: i64) -> Vec<(ServerState, String)> {
        let history = self.servers.history(id).await.unwrap();
        history
            .into_iter()
            .map(|(s, _, cause)| (s, cause))
            .collect()
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn create_charges_the_first_hour_then_starts(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let server = w
            .hosting
            .create(w.owner, w.template_id, "town")
            .await
            .unwrap();
        assert_eq!(server.state, ServerState::Running);
        assert_eq!(w.balance().await, Millis(PRICE));
        assert_eq!(w.agent.calls(), vec![format!("start {} world", server.id)]);
        assert_eq!(
            w.causes(server.id).await,
            vec![(ServerState::Running, w.owner.who())]
        );
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn create_is_refused_before_anything_is_made(t) {
        // A wallet short of the first hour: nothing is made, nothing charged.
        let w = World::new(&t, PRICE - 1).await;
        let refused = w.hosting.create(w.owner, w.template_id, "town").await;
        assert!(
            matches!(refused, Err(HostingError::Insufficient { .. })),
            "{refused:?}"
        );
        // No node with room: the same.
        w.ledger
            .grant("1", "r2", &w.owner.user_id.to_string(), Millis(PRICE), "")
            .await
            .unwrap();
        *w.agent.full.lock().unwrap() = true;
        let refused = w.hosting.create(w.owner, w.template_id, "town").await;
        assert!(
            matches!(
                refused,
                Err(HostingError::Orchestrator(OrchestratorError::NoCapacity))
            ),
            "{refused:?}"
        );
        // An unknown template.
        let refused = w.hosting.create(w.owner, 999, "town").await;
        assert!(
            matches!(refused, Err(HostingError::NoTemplate(999))),
            "{refused:?}"
        );
        assert!(w
            .servers
            .list(w.owner.user_id, Role::Customer)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(w.balance().await, Millis(2 * PRICE - 1));
        assert!(w.agent.calls().is_empty());
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn hibernate_wake_and_delete_drive_the_node(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let id = w.town().await;
        let slept = w.hosting.hibernate(w.owner, id).await.unwrap();
        assert_eq!(slept.state, ServerState::Hibernated);
        // Hibernating twice is a wrong state, and calls no node.
        let again = w.hosting.hibernate(w.owner, id).await;
        assert!(
            matches!(again, Err(HostingError::Server(ServerError::WrongState(_)))),
            "{again:?}"
        );
        // A wake inside the hour already paid costs nothing.
        let woke = w.hosting.wake(w.owner, id).await.unwrap();
        assert_eq!(woke.state, ServerState::Running);
        assert_eq!(w.balance().await, Millis(PRICE));
        let gone = w.hosting.delete(w.owner, id).await.unwrap();
        assert_eq!(gone.state, ServerState::Deleted);
        assert_eq!(
            w.agent.calls(),
            vec![
                format!("start {id} world"),
                format!("stop {id}"),
                format!("start {id} world"),
                format!("remove {id}"),
            ]
        );
        // Nothing comes back from deleted.
        assert!(w.hosting.wake(w.owner, id).await.is_err());
        assert_eq!(w.agent.calls().len(), 4);
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn only_the_owner_or_an_admin_may_change_a_server(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let id = w.town().await;
        let stranger = Caller {
            user_id: w.owner.user_id + 100,
            role: Role::Customer,
        };
        let refused = w.hosting.hibernate(stranger, id).await;
        assert!(
            matches!(refused, Err(HostingError::NotFound)),
            "{refused:?}"
        );
        assert!(matches!(
            w.hosting.logs(stranger, id, 10).await,
            Err(HostingError::NotFound)
        ));
        let admin = Caller {
            user_id: stranger.user_id,
            role: Role::Admin,
        };
        w.hosting.hibernate(admin, id).await.unwrap();
        assert_eq!(
            w.causes(id).await.last().unwrap(),
            &(ServerState::Hibernated, admin.who())
        );
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn a_failed_node_call_keeps_the_recorded_state(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let id = w.town().await;
        *w.agent.broken.lock().unwrap() = true;
        let failed = w.hosting.hibernate(w.owner, id).await;
        assert!(
            matches!(
                failed,
                Err(HostingError::Orchestrator(OrchestratorError::Node(_)))
            ),
            "{failed:?}"
        );
        // Recorded first: billing stopped even though the node did not answer.
        let server = w.hosting.visible(w.owner, id).await.unwrap();
        assert_eq!(server.state, ServerState::Hibernated);
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn a_client_at_the_proxy_wakes_a_sleeping_server(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let id = w.town().await;
        w.hosting.hibernate(w.owner, id).await.unwrap();
        let woke = w.hosting.wake_for_client(id).await.unwrap();
        assert_eq!(woke.state, ServerState::Running);
        assert_eq!(
            w.causes(id).await.last().unwrap(),
            &(ServerState::Running, PROXY.to_string())
        );
        // Recorded running but found asleep (a crash): started again, with no
        // new state change and no new charge.
        let events = w.causes(id).await.len();
        w.hosting.wake_for_client(id).await.unwrap();
        assert_eq!(w.causes(id).await.len(), events);
        assert_eq!(w.balance().await, Millis(PRICE));
        let starts = w
            .agent
            .calls()
            .iter()
            .filter(|c| c.starts_with("start"))
            .count();
        assert_eq!(starts, 3);
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn idle_servers_hibernate_and_stop(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let id = w.town().await;
        assert!(w.hosting.hibernate_idle(id).await.unwrap());
        assert_eq!(
            w.causes(id).await.last().unwrap(),
            &(ServerState::Hibernated, IDLE.to_string())
        );
        // The node is told in the background.
        let stop = format!("stop {id}");
        for _ in 0..200 {
            if w.agent.calls().contains(&stop) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(w.agent.calls().contains(&stop), "{:?}", w.agent.calls());
        // Asleep already: nothing to do.
        assert!(!w.hosting.hibernate_idle(id).await.unwrap());
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn servers_that_stopped_with_their_node_are_recorded(t) {
        let w = World::new(&t, 4 * PRICE).await;
        let a = w
            .hosting
            .create(w.owner, w.template_id, "a")
            .await
            .unwrap()
            .id;
        let b = w
            .hosting
            .create(w.owner, w.template_id, "b")
            .await
            .unwrap()
            .id;
        let c = w
            .hosting
            .create(w.owner, w.template_id, "c")
            .await
            .unwrap()
            .id;
        w.hosting.hibernate(w.owner, b).await.unwrap();
        let calls = w.agent.calls().len();
        // a and b were on the node that restarted; c elsewhere.
        assert_eq!(
            w.hosting
                .record_stopped(&[a, b], NODE_RESTARTED)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            w.causes(a).await.last().unwrap(),
            &(ServerState::Hibernated, NODE_RESTARTED.to_string())
        );
        let c_state = w.hosting.visible(w.owner, c).await.unwrap().state;
        assert_eq!(c_state, ServerState::Running);
        // It stopped already: the node is not called.
        assert_eq!(w.agent.calls().len(), calls);
        assert_eq!(
            w.hosting
                .record_stopped(&[a, b], NODE_RESTARTED)
                .await
                .unwrap(),
            0
        );
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn a_restore_stops_the_server_then_puts_the_data_back(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let id = w.town().await;
        // No backup store: the backup calls are unavailable.
        let none = w.hosting.back_up(w.owner, id).await;
        assert!(matches!(none, Err(HostingError::NoBackupStore)), "{none:?}");
        let dir = tempfile::tempdir().unwrap();
        let hosting = w
            .hosting
            .clone()
            .with_backups(BackupStore::local(dir.path()).unwrap());
        let info = hosting.back_up(w.owner, id).await.unwrap();
        assert_eq!(
            hosting.backups(w.owner, id).await.unwrap(),
            vec![info.clone()]
        );
        let missing = hosting.restore(w.owner, id, "1.tar.gz").await;
        assert!(
            matches!(
                missing,
                Err(HostingError::Backup(BackupError::NotFound { .. }))
            ),
            "{missing:?}"
        );
        let restored = hosting.restore(w.owner, id, &info.name).await.unwrap();
        assert_eq!(restored.state, ServerState::Hibernated);
        let calls = w.agent.calls();
        assert_eq!(
            calls[calls.len() - 3..],
            [
                format!("backup {id}"),
                format!("stop {id}"),
                format!("restore {id} data of server {id}"),
            ]
        );
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn without_an_orchestrator_nothing_changes(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let bare = Hosting::new(w.servers.clone(), w.ledger.clone());
        let refused = bare.create(w.owner, w.template_id, "town").await;
        assert!(
            matches!(refused, Err(HostingError::NoOrchestrator)),
            "{refused:?}"
        );
        assert!(w
            .servers
            .list(w.owner.user_id, Role::Customer)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(w.balance().await, Millis(2 * PRICE));
    }
}

fn exit(at_ms: i64, status: &str, outcome: ExitOutcome) -> Exited {
    Exited {
        at_ms,
        status: status.into(),
        outcome,
        last_lines: vec!["loading the map".into(), "panic: no spawn point".into()],
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn a_crash_is_recorded_when_it_happened_and_stops_billing(t) {
        let w = World::new(&t, 10 * PRICE).await;
        let id = w.town().await;
        assert_eq!(w.balance().await, Millis(9 * PRICE));

        // Restarts keep it running (and billed); the exit is kept for its page.
        let restarting = ExitOutcome::Restarting { attempt: 1, after_ms: 1000 };
        let state = w
            .hosting
            .record_exit(id, &exit(now_ms(), "signal: 9 (SIGKILL)", restarting))
            .await
            .unwrap();
        assert_eq!(state, ServerState::Running);
        let server = w.hosting.visible(w.owner, id).await.unwrap();
        let last = server.last_exit.unwrap();
        assert_eq!((last.status.as_str(), last.outcome.as_str()), ("signal: 9 (SIGKILL)", "restarting"));
        assert_eq!(last.last_lines, ["loading the map", "panic: no spawn point"]);

        // The node gave up: crashed at the moment of the exit (an exit
        // reported from the future is taken as now).
        let before = now_ms();
        let state = w
            .hosting
            .record_exit(id, &exit(before + 3_600_000, "exit status: 101", ExitOutcome::Crashed))
            .await
            .unwrap();
        assert_eq!(state, ServerState::Crashed);
        let history = w.servers.history(id).await.unwrap();
        let (state, at, cause) = history.last().unwrap();
        assert_eq!((*state, cause.as_str()), (ServerState::Crashed, "crashed: exit status: 101"));
        assert!((before..=now_ms()).contains(at), "{at} is the report's time, clamped to now");

        // Hours later, nothing more is charged: the crash ended the billing.
        assert_eq!(w.hosting.bill_running(at + 5 * HOUR_MS).await.unwrap(), 0);
        assert_eq!(w.balance().await, Millis(9 * PRICE));
        assert!(!w.agent.calls().iter().any(|c| c.starts_with("stop")), "it stopped already");

        // Players do not wake it; a second report changes nothing.
        let refused = w.hosting.wake_for_client(id).await;
        assert!(
            matches!(&refused, Err(HostingError::Crashed(s)) if s == "exit status: 101"),
            "{refused:?}"
        );
        let again = w
            .hosting
            .record_exit(id, &exit(now_ms(), "exit status: 101", ExitOutcome::Crashed))
            .await
            .unwrap();
        assert_eq!(again, ServerState::Crashed);
        assert_eq!(w.servers.history(id).await.unwrap().len(), 2);

        // Its owner starts it again (inside the paid hour: free).
        let woke = w.hosting.wake(w.owner, id).await.unwrap();
        assert_eq!(woke.state, ServerState::Running);
        assert_eq!(w.balance().await, Millis(9 * PRICE));
        let audit = w.ledger.audit().await.unwrap();
        assert!(audit.unbalanced.is_empty() && audit.cache_mismatches.is_empty());
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn a_world_that_exits_cleanly_on_its_own_is_hibernated(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let id = w.town().await;
        let state = w
            .hosting
            .record_exit(id, &exit(now_ms(), "exit status: 0", ExitOutcome::Stopped))
            .await
            .unwrap();
        assert_eq!(state, ServerState::Hibernated);
        assert_eq!(
            w.causes(id).await.last().unwrap(),
            &(ServerState::Hibernated, "exited: exit status: 0".to_string())
        );
        // Asleep, a player wakes it as usual.
        assert_eq!(w.hosting.wake_for_client(id).await.unwrap().state, ServerState::Running);
        // An unknown server is not found.
        let unknown = w.hosting.record_exit(999, &exit(0, "x", ExitOutcome::Crashed)).await;
        assert!(matches!(unknown, Err(HostingError::NotFound)), "{unknown:?}");
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn only_the_owner_uses_the_console_of_a_running_server(t) {
        let w = World::new(&t, 2 * PRICE).await;
        let id = w.town().await;
        w.hosting.console(w.owner, id, "say hi").await.unwrap();
        assert!(w.agent.calls().contains(&format!("console {id} say hi")));
        let users = Users::new(t.db().clone());
        let eve = users.create("eve@x.com", Some("correct horse"), Role::Customer).await.unwrap();
        let eve = Caller { user_id: eve.id, role: Role::Customer };
        assert!(matches!(w.hosting.console(eve, id, "op eve").await, Err(HostingError::NotFound)));
        let root = users.create("root@x.com", Some("correct horse"), Role::Admin).await.unwrap();
        let root = Caller { user_id: root.id, role: Role::Admin };
        assert!(matches!(w.hosting.console(root, id, "op root").await, Err(HostingError::OwnerOnly)));
        w.hosting.hibernate(w.owner, id).await.unwrap();
        let asleep = w.hosting.console(w.owner, id, "say hi").await;
        assert!(matches!(asleep, Err(HostingError::Server(ServerError::WrongState(_)))), "{asleep:?}");
        assert_eq!(w.agent.calls().iter().filter(|c| c.starts_with("console")).count(), 1);
    }
}
