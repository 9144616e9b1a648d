//! Users, sessions, API keys and second factors, on SQLite and PostgreSQL.

use gsp_control::auth::{totp, ApiKeys, AuthError, Role, Sessions, Users};

const PW: &str = "correct horse battery";

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn users_sign_in_by_email_and_password(t) {
        let users = Users::new(t.db().clone());
        assert_eq!(users.count().await.unwrap(), 0);
        let ada = users
            .create("Ada@Example.com", Some(PW), Role::Admin)
            .await
            .unwrap();
        assert_eq!(ada.role, Role::Admin);
        assert!(matches!(
            users
                .create("ada@example.COM", Some(PW), Role::Customer)
                .await,
            Err(AuthError::EmailTaken)
        ));
        assert!(matches!(
            users
                .create("bob@example.com", Some("short"), Role::Customer)
                .await,
            Err(AuthError::WeakPassword(_))
        ));
        assert!(matches!(
            users.create("not an email", Some(PW), Role::Customer).await,
            Err(AuthError::BadEmail)
        ));
        assert_eq!(
            users.authenticate("ADA@example.com", PW).await.unwrap().id,
            ada.id
        );
        assert!(matches!(
            users
                .authenticate("ada@example.com", "wrong password")
                .await,
            Err(AuthError::BadCredentials)
        ));
        assert!(matches!(
            users.authenticate("nobody@example.com", PW).await,
            Err(AuthError::BadCredentials)
        ));
        // A user made by OpenID Connect has no password to sign in with.
        users
            .create("oidc@example.com", None, Role::Customer)
            .await
            .unwrap();
        assert!(matches!(
            users.authenticate("oidc@example.com", "").await,
            Err(AuthError::BadCredentials)
        ));
        assert_eq!(users.count().await.unwrap(), 2);
        assert_eq!(users.list().await.unwrap().len(), 2);
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn sessions_rotate_and_carry_csrf(t) {
    let users = Users::new(t.db().clone());
    let sessions = Sessions::new(t.db().clone());
    let ada = users
        .create("ada@example.com", Some(PW), Role::Customer)
        .await
        .unwrap();
    let first = sessions.start(&ada, None).await.unwrap();
    let s = sessions.get(&first).await.unwrap().expect("a live session");
    assert_eq!(
        (s.user_id, s.role, s.complete),
        (ada.id, Role::Customer, true)
    );
    assert!(s.csrf_ok(&s.csrf));
    assert!(!s.csrf_ok("gsp_csrf_forged"));
    assert!(!s.csrf_ok(""));
    // Signing in again replaces the old session: its token is dead.
    let second = sessions.start(&ada, Some(&first)).await.unwrap();
    assert_ne!(first, second);
    assert!(sessions.get(&first).await.unwrap().is_none());
    let s2 = sessions.get(&second).await.unwrap().unwrap();
    assert_ne!(s2.csrf, s.csrf, "each session has its own CSRF token");
    assert!(sessions.get("gsp_s_nonsense").await.unwrap().is_none());
    sessions.end(&second).await.unwrap();
    assert!(sessions.get(&second).await.unwrap().is_none());
}
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn api_keys_are_shown_once_scoped_and_revocable(t) {
        let users = Users::new(t.db().clone());
        let keys = ApiKeys::new(t.db().clone());
        let ada = users
            .create("ada@example.com", Some(PW), Role::Customer)
            .await
            .unwrap();
        let bob = users
            .create("bob@example.com", Some(PW), Role::Customer)
            .await
            .unwrap();
        let (key, secret) = keys.create(ada.id, "ci deploys").await.unwrap();
        assert!(secret.starts_with("gsp_ak_") && secret.len() == 7 + 64);
        assert!(secret.starts_with(&key.shown_prefix));
        let who = keys
            .authenticate(&secret)
            .await
            .unwrap()
            .expect("a live key");
        assert_eq!(
            (who.user_id, who.key_id, who.role),
            (ada.id, key.id, Role::Customer)
        );
        let listed = keys.list(ada.id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].last_used_at.is_some());
        assert!(keys.list(bob.id).await.unwrap().is_empty());
        // Bob cannot revoke Ada's key; Ada can, and then it stops working.
        assert!(matches!(
            keys.revoke(bob.id, key.id).await,
            Err(AuthError::NotFound)
        ));
        assert!(keys.authenticate(&secret).await.unwrap().is_some());
        keys.revoke(ada.id, key.id).await.unwrap();
        assert!(keys.authenticate(&secret).await.unwrap().is_none());
        assert!(keys.list(ada.id).await.unwrap()[0].revoked_at.is_some());
        assert!(keys.authenticate("gsp_ak_0000").await.unwrap().is_none());
        assert!(matches!(
            keys.create(999, "x").await,
            Err(AuthError::NotFound)
        ));
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn totp_and_recovery_codes_work_once(t) {
    let users = Users::new(t.db().clone());
    let sessions = Sessions::new(t.db().clone());
    let ada = users
        .create("ada@example.com", Some(PW), Role::Customer)
        .await
        .unwrap();
    let (secret, uri) = users.begin_totp(&ada).unwrap();
    assert!(uri.contains(&secret));
    let key = totp::decode_secret(&secret).unwrap();
    let now = 1_800_000_000u64;
    let code_at = |t: u64| format!("{:06}", totp::code_at_step(&key, totp::step_of(t)));
    assert!(
        matches!(
            users.confirm_totp(ada.id, &secret, "000000", now).await,
            Err(AuthError::BadCode)
        ) || code_at(now) == "000000"
    );
    let recovery = users
        .confirm_totp(ada.id, &secret, &code_at(now), now)
        .await
        .unwrap();
    assert_eq!(recovery.len(), 10);
    let ada = users.get(ada.id).await.unwrap().unwrap();
    assert!(ada.totp_enabled);

    // Signing in now gives a pending session until the second factor.
    let pending = sessions.start(&ada, None).await.unwrap();
    assert!(!sessions.get(&pending).await.unwrap().unwrap().complete);
    // The code used to confirm cannot be used again; the next one can, once.
    assert!(matches!(
        users.second_factor(ada.id, &code_at(now), now).await,
        Err(AuthError::BadCode)
    ));
    let later = now + totp::STEP_SECS;
    users
        .second_factor(ada.id, &code_at(later), later)
        .await
        .unwrap();
    assert!(matches!(
        users.second_factor(ada.id, &code_at(later), later).await,
        Err(AuthError::BadCode)
    ));
    let full = sessions.complete(&pending).await.unwrap();
    assert!(sessions.get(&pending).await.unwrap().is_none(), "rotated");
    assert!(sessions.get(&full).await.unwrap().unwrap().complete);

    // A recovery code works once, typed any way.
    let code = recovery[3].to_uppercase().replace('-', " ");
    users.second_factor(ada.id, &code, later).await.unwrap();
    assert!(matches!(
        users.second_factor(ada.id, &recovery[3], later).await,
        Err(AuthError::BadCode)
    ));
    assert!(matches!(
        users.second_factor(ada.id, "aaaaa-bbbbb", later).await,
        Err(AuthError::BadCode)
    ));
}
}
