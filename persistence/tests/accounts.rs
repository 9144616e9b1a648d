//! The account store on both backends: creation, logins, throttling,
//! resume tokens, characters.

mod common;

use std::time::{Duration, Instant};

use common::{character, peer};
use gsp_engine::{AccountError, AccountId, AccountService};
use gsp_persistence::{AccountStore, TOKEN_PREFIX};
use gsp_store::both_backends;

const PASSWORD: &str = "correct horse battery";

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn create_then_log_in_in_any_capitalisation(test) {
        let store = AccountStore::new(test.db().clone(), "w");
        let created = store.create("Alice", PASSWORD, peer(1)).await.expect("create");
        assert_eq!(created.name, "Alice");
        assert_eq!(created.character, None);
        let login = store.connect("aLICE", PASSWORD, peer(1)).await.expect("log in");
        assert_eq!(login.account, created.account);
        assert_eq!(login.name, "Alice", "the name as created");
        // A second account gets another id.
        let bob = store.create("Bob", PASSWORD, peer(1)).await.expect("create");
        assert_ne!(bob.account, created.account);
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn wrong_password_and_unknown_name_get_the_same_answer(test) {
        let store = AccountStore::new(test.db().clone(), "w");
        store.create("Carol", PASSWORD, peer(1)).await.expect("create");
        let mut wrong_times = Vec::new();
        let mut unknown_times = Vec::new();
        for i in 0..3 {
            let t = Instant::now();
            let wrong = store.connect("Carol", "not the password", peer(10 + i)).await;
            wrong_times.push(t.elapsed());
            let t = Instant::now();
            let unknown = store.connect("Nobody", PASSWORD, peer(20 + i)).await;
            unknown_times.push(t.elapsed());
            assert_eq!(wrong, Err(AccountError::BadCredentials));
            assert_eq!(unknown, Err(AccountError::BadCredentials));
        }
        // An unknown name is verified against a dummy hash: it costs about
        // as much as a wrong password (argon2 dominates both).
        wrong_times.sort();
        unknown_times.sort();
        assert!(
            unknown_times[1] * 3 >= wrong_times[1],
            "unknown {unknown_times:?} vs wrong {wrong_times:?}"
        );
        // Empty and absurd passwords are plain failures too.
        assert_eq!(store.connect("Carol", "", peer(30)).await, Err(AccountError::BadCredentials));
        let huge = "x".repeat(100_000);
        assert_eq!(store.connect("Carol", &huge, peer(31)).await, Err(AccountError::BadCredentials));
        assert_eq!(store.connect("no spaces", PASSWORD, peer(32)).await, Err(AccountError::BadCredentials));
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn names_are_unique_in_any_capitalisation(test) {
        let store = AccountStore::new(test.db().clone(), "w");
        store.create("Dave", PASSWORD, peer(1)).await.expect("create");
        assert_eq!(store.create("DAVE", PASSWORD, peer(1)).await, Err(AccountError::NameTaken));
        assert_eq!(store.create("dave", "another password", peer(2)).await, Err(AccountError::NameTaken));
        assert_eq!(store.exists("dAvE").await, Ok(true));
        assert_eq!(store.exists("Eve").await, Ok(false));
        assert_eq!(store.exists("9lives").await, Err(AccountError::BadName));
        // The original password still works: nothing was overwritten.
        store.connect("Dave", PASSWORD, peer(1)).await.expect("log in");
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn bad_names_and_weak_passwords_are_refused(test) {
        let store = AccountStore::new(test.db().clone(), "w");
        for name in ["x", "1abc", "has space", "waytoolongname12345", "émile", ""] {
            assert_eq!(store.create(name, PASSWORD, peer(1)).await, Err(AccountError::BadName), "{name:?}");
        }
        assert!(matches!(store.create("Frank", "short", peer(1)).await, Err(AccountError::WeakPassword(_))));
        assert!(matches!(store.create("Frank", &"p".repeat(129), peer(1)).await, Err(AccountError::WeakPassword(_))));
        assert!(matches!(store.create("Frankly", "FRANKLY", peer(1)).await, Err(AccountError::WeakPassword(_))));
        // Nothing was created along the way.
        assert_eq!(store.exists("Frank").await, Ok(false));
        assert_eq!(store.exists("Frankly").await, Ok(false));
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn five_failures_throttle_the_account(test) {
        let store = AccountStore::new(test.db().clone(), "w");
        store.create("Grace", PASSWORD, peer(1)).await.expect("create");
        store.create("Heidi", PASSWORD, peer(1)).await.expect("create");
        for i in 0..5 {
            assert_eq!(
                store.connect("grace", "wrong password", peer(2 + i)).await,
                Err(AccountError::BadCredentials),
                "attempt {i}"
            );
        }
        // Locked, from any address, even with the right password.
        match store.connect("Grace", PASSWORD, peer(50)).await {
            Err(AccountError::Throttled { retry_after }) => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(60), "{retry_after:?}");
            }
            other => panic!("expected throttling, got {other:?}"),
        }
        // Other accounts, from the same addresses, are not affected.
        store.connect("Heidi", PASSWORD, peer(2)).await.expect("log in");
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn success_clears_the_account_counter(test) {
        let store = AccountStore::new(test.db().clone(), "w");
        store.create("Ivan", PASSWORD, peer(1)).await.expect("create");
        for _ in 0..4 {
            assert!(store.connect("Ivan", "wrong password", peer(1)).await.is_err());
        }
        store.connect("Ivan", PASSWORD, peer(1)).await.expect("log in");
        for _ in 0..4 {
            assert_eq!(store.connect("Ivan", "wrong password", peer(1)).await, Err(AccountError::BadCredentials));
        }
        // Eight failures in all, but never five since the success.
        store.connect("Ivan", PASSWORD, peer(1)).await.expect("log in");
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn twenty_failures_throttle_the_address(test) {
        let store = AccountStore::new(test.db().clone(), "w");
        store.create("Judy", PASSWORD, peer(1)).await.expect("create");
        // Twenty failures from one address, spread over names.
        for i in 0..20 {
            let name = format!("Guess{i}");
            assert_eq!(store.connect(&name, PASSWORD, peer(9)).await, Err(AccountError::BadCredentials));
        }
        assert!(matches!(
            store.connect("Judy", PASSWORD, peer(9)).await,
            Err(AccountError::Throttled { .. })
        ));
        // Token logins from that address too.
        assert!(matches!(
            store.connect_token("gsp_rt_x", peer(9)).await,
            Err(AccountError::Throttled { .. })
        ));
        // Another address is fine.
        store.connect("Judy", PASSWORD, peer(10)).await.expect("log in");
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn resume_tokens(test) {
        let store = AccountStore::new(test.db().clone(), "w");
        let login = store.create("Mallory", PASSWORD, peer(1)).await.expect("create");
        let token = store.issue_token(login.account).await.expect("token");
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() > 40, "{token}");
        assert!(token.chars().all(|c| c.is_ascii_graphic()), "printable");
        let resumed = store.connect_token(&token, peer(2)).await.expect("resume");
        assert_eq!((resumed.account, resumed.name.as_str()), (login.account, "Mallory"));
        // Only a hash is stored.
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM resume_tokens")
            .fetch_all(test.db().pool())
            .await
            .expect("query");
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].contains(&token[TOKEN_PREFIX.len()..]));

        // A wrong token of the right shape, and garbage.
        let mut wrong = token.clone();
        let last = if wrong.ends_with('0') { "1" } else { "0" };
        wrong.replace_range(wrong.len() - 1.., last);
        assert_eq!(store.connect_token(&wrong, peer(2)).await, Err(AccountError::BadCredentials));
        assert_eq!(store.connect_token("garbage", peer(2)).await, Err(AccountError::BadCredentials));
        assert_eq!(store.connect_token("", peer(2)).await, Err(AccountError::BadCredentials));

        // Expired.
        let other = store.issue_token(login.account).await.expect("token");
        sqlx::query("UPDATE resume_tokens SET expires_ms = $1")
            .bind(1_i64)
            .execute(test.db().pool())
            .await
            .expect("expire");
        assert_eq!(store.connect_token(&token, peer(2)).await, Err(AccountError::BadCredentials));
        assert_eq!(store.connect_token(&other, peer(2)).await, Err(AccountError::BadCredentials));

        // A token for an account that does not exist is refused.
        assert!(matches!(
            store.issue_token(AccountId(999_999)).await,
            Err(AccountError::Unavailable(_))
        ));
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn tokens_expire_after_thirty_days_and_are_capped(test) {
        let store = AccountStore::new(test.db().clone(), "w");
        let login = store.create("Niaj", PASSWORD, peer(1)).await.expect("create");
        let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
        let mut tokens = Vec::new();
        for _ in 0..12 {
            tokens.push(store.issue_token(login.account).await.expect("token"));
        }
        let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT created_ms, expires_ms FROM resume_tokens")
            .fetch_all(test.db().pool())
            .await
            .expect("query");
        assert_eq!(rows.len(), 10, "an account keeps its 10 newest tokens");
        for (created, expires) in rows {
            assert!(created >= before);
            assert_eq!(expires - created, 30 * 24 * 3600 * 1000);
        }
        // The newest work.
        store.connect_token(&tokens[11], peer(3)).await.expect("resume");
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn login_brings_the_character_of_this_world(test) {
        let here = AccountStore::new(test.db().clone(), "here");
        let there = AccountStore::new(test.db().clone(), "there");
        let login = here.create("Oscar", PASSWORD, peer(1)).await.expect("create");
        here.save_character(login.account, &character(4.0, Some("tavern"))).await.expect("save");
        there.save_character(login.account, &character(-7.0, None)).await.expect("save");

        let again = here.connect("oscar", PASSWORD, peer(1)).await.expect("log in");
        assert_eq!(again.character, Some(character(4.0, Some("tavern"))));
        // The same account in the other world: that world's character.
        let elsewhere = there.connect("Oscar", PASSWORD, peer(1)).await.expect("log in");
        assert_eq!(elsewhere.character, Some(character(-7.0, None)));
        let token = there.issue_token(login.account).await.expect("token");
        let resumed = here.connect_token(&token, peer(1)).await.expect("resume");
        assert_eq!(resumed.character, Some(character(4.0, Some("tavern"))));
    }
}

both_backends! {
    migrations = &gsp_persistence::db::MIGRATOR;
    fn characters_round_trip_per_world(test) {
        let w1 = AccountStore::new(test.db().clone(), "w1");
        let w2 = AccountStore::new(test.db().clone(), "w2");
        let a = AccountId(1);
        assert_eq!(w1.load_character(a).await.expect("load"), None);
        w1.save_character(a, &character(1.0, Some("hall"))).await.expect("save");
        assert_eq!(w1.load_character(a).await.expect("load"), Some(character(1.0, Some("hall"))));
        assert_eq!(w2.load_character(a).await.expect("load"), None);
        // Overwritten, not duplicated.
        w1.save_character(a, &character(2.0, None)).await.expect("save");
        assert_eq!(w1.load_character(a).await.expect("load"), Some(character(2.0, None)));
        // Several at once; the last of an account wins.
        w2.save_characters(&[(a, character(5.0, None)), (AccountId(2), character(6.0, None)), (a, character(7.0, None))])
            .await
            .expect("save");
        assert_eq!(w2.load_character(a).await.expect("load"), Some(character(7.0, None)));
        assert_eq!(w2.load_character(AccountId(2)).await.expect("load"), Some(character(6.0, None)));
        // Floats that are not round numbers survive exactly; NaN reads back as NaN.
        let mut odd = character(0.1, None);
        odd.position.y = f32::MIN_POSITIVE;
        odd.position.z = f32::NAN;
        w1.save_character(a, &odd).await.expect("save");
        let back = w1.load_character(a).await.expect("load").expect("saved");
        assert_eq!((back.position.x, back.position.y), (0.1, f32::MIN_POSITIVE));
        assert!(back.position.z.is_nan());
        // A room PostgreSQL could not store is refused on both, nothing written.
        let mut bad = character(9.0, Some("a\0b"));
        bad.room = Some("a\0b".into());
        assert!(w1.save_character(a, &bad).await.is_err());
        assert_eq!(w1.load_character(a).await.expect("load").map(|c| c.position.x), Some(0.1));
    }
}
