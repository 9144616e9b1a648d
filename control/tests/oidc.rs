//! OpenID Connect sign-in end to end, over real HTTP against the test
//! provider in `support/oidc_provider.rs`: begin, the provider's redirect,
//! finish, and the identity linked to a platform user (on SQLite and
//! PostgreSQL); each way the provider can misbehave gives its error.

#[path = "support/oidc_provider.rs"]
mod oidc_provider;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gsp_control::auth::oidc::discovery::{ClientAuth, Discovery, DiscoveryError};
use gsp_control::auth::oidc::id_token::IdTokenError;
use gsp_control::auth::oidc::pending::PENDING_LIFETIME_SECS;
use gsp_control::auth::oidc::token::{token_request, Exchange, TokenError};
use gsp_control::auth::oidc::{Identity, Oidc, OidcError, ProviderConfig};
use gsp_control::auth::{AuthError, OidcUserError, Role, Users};
use oidc_provider::{Knob, TestProvider, TestUser};

const CLIENT: &str = "gsp-test-client";
const SECRET: &str = "s3cret,with=odd chars";
const BASE: &str = "http://127.0.0.1:8080";

fn config(name: &str, idp: &TestProvider, secret: &str) -> ProviderConfig {
    let line = format!(
        "name={name},issuer={},client-id={CLIENT},client-secret-env=SECRET",
        idp.issuer
    );
    ProviderConfig::parse_with_env(&line, |_| Some(secret.to_owned())).unwrap()
}

fn oidc(idp: &TestProvider) -> Oidc {
    Oidc::new(BASE, vec![config("test", idp, SECRET)]).unwrap()
}

async fn provider() -> TestProvider {
    TestProvider::start(CLIENT, SECRET, TestUser::new("sub-ada", "Ada@Example.com")).await
}

/// A plain HTTP client for the browser's part (no redirects followed).
fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The browser's visit to the provider: GETs the authorization URL and
/// reads `code` and `state` from the redirect back to the platform.
async fn visit(authorize_url: &str) -> (String, String) {
    let resp = browser().get(authorize_url).send().await.unwrap();
    assert_eq!(resp.status(), 302, "{}", resp.text().await.unwrap());
    let location = resp.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    assert_eq!(
        format!("{}{}", &url[..url::Position::BeforePath], url.path()),
        format!("{BASE}/auth/oidc/test/callback")
    );
    let q = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    (q("code"), q("state"))
}

/// A whole sign-in by one browser (its cookie holds the state).
async fn sign_in(oidc: &Oidc) -> Result<Identity, OidcError> {
    let begun = oidc.begin("test").await?;
    let (code, state) = visit(&begun.authorize_url).await;
    assert_eq!(state, begun.state);
    oidc.finish("test", Some(&begun.state), &state, &code).await
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn the_whole_flow_signs_in_the_same_user_each_time(t) {
        let idp = provider().await;
        let oidc = oidc(&idp);
        assert_eq!(oidc.providers(), [("test".to_owned(), "Test".to_owned())]);
        let users = Users::new(t.db().clone());

        let id = sign_in(&oidc).await.unwrap();
        assert_eq!(
            id,
            Identity {
                issuer: idp.issuer.clone(),
                subject: "sub-ada".into(),
                email: Some("Ada@Example.com".into()),
                email_verified: true,
                name: Some("Test User".into()),
            }
        );
        let ada = users.sign_in_oidc(&id).await.unwrap();
        assert_eq!((ada.email.as_str(), ada.role), ("Ada@Example.com", Role::Customer));

        // The second time: the same user (the keys came from the cache).
        let again = users.sign_in_oidc(&sign_in(&oidc).await.unwrap()).await.unwrap();
        assert_eq!(again.id, ada.id);
        assert_eq!(users.count().await.unwrap(), 1);
        assert_eq!(idp.jwks_fetches(), 1);
    }
}

#[tokio::test]
async fn each_misbehaviour_gives_its_error() {
    let idp = provider().await;
    let oidc = oidc(&idp);
    let cases = [
        (Knob::WrongNonce, IdTokenError::Nonce),
        (
            Knob::WrongIssuer,
            IdTokenError::Issuer("https://impostor.example.com".into()),
        ),
        (Knob::WrongAudience, IdTokenError::Audience),
        (Knob::Expired, IdTokenError::Expired),
        (
            Knob::UnknownKid,
            IdTokenError::UnknownKey(Some("key-unknown".into())),
        ),
        (Knob::BadSignature, IdTokenError::BadSignature),
    ];
    for (knob, want) in cases {
        idp.behave();
        idp.set(knob);
        match sign_in(&oidc).await {
            Err(OidcError::IdToken { provider, source }) => {
                assert_eq!(provider, "Test");
                assert_eq!(source, want, "{knob:?}");
            }
            other => panic!("{knob:?}: {other:?}"),
        }
    }
    idp.behave();
    assert!(sign_in(&oidc).await.is_ok(), "well behaved again");

    // An unverified email still signs in at the provider...
    idp.set(Knob::EmailUnverified);
    let id = sign_in(&oidc).await.unwrap();
    assert!(!id.email_verified);
}

#[tokio::test]
async fn an_unknown_key_is_looked_up_again_once() {
    let idp = provider().await;
    let oidc = oidc(&idp);
    sign_in(&oidc).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1);

    // The provider rotates its key: the cached set lacks the new kid, so
    // the set is fetched again, and the sign-in works.
    idp.rotate_key();
    sign_in(&oidc).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 2);
    sign_in(&oidc).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 2, "the new set is cached");

    // A kid that is nowhere: one more fetch, then refused.
    idp.set(Knob::UnknownKid);
    assert!(matches!(
        sign_in(&oidc).await,
        Err(OidcError::IdToken {
            source: IdTokenError::UnknownKey(_),
            ..
        })
    ));
    assert_eq!(idp.jwks_fetches(), 3);
}

#[tokio::test]
async fn a_state_works_once() {
    let idp = provider().await;
    let oidc = oidc(&idp);
    let begun = oidc.begin("test").await.unwrap();
    let (code, state) = visit(&begun.authorize_url).await;
    oidc.finish("test", Some(&state), &state, &code)
        .await
        .unwrap();
    assert!(matches!(
        oidc.finish("test", Some(&state), &state, &code).await,
        Err(OidcError::UnknownState)
    ));
    assert!(matches!(
        oidc.finish("test", Some("made-up"), "made-up", &code).await,
        Err(OidcError::UnknownState)
    ));
    assert_eq!(
        idp.token_requests(),
        1,
        "refused before the provider is asked"
    );
}

#[tokio::test]
async fn the_state_must_come_from_the_browser_that_started() {
    let idp = provider().await;
    let oidc = oidc(&idp);
    // An attacker's own sign-in, whose callback link a victim is made to
    // open: the victim's browser has no state cookie, or another one.
    let begun = oidc.begin("test").await.unwrap();
    let (code, state) = visit(&begun.authorize_url).await;
    assert!(matches!(
        oidc.finish("test", None, &state, &code).await,
        Err(OidcError::NoStateCookie)
    ));
    let other = oidc.begin("test").await.unwrap();
    assert!(matches!(
        oidc.finish("test", Some(&other.state), &state, &code).await,
        Err(OidcError::StateMismatch)
    ));
    // Refusing it did not use it up: the right browser still can.
    assert!(oidc
        .finish("test", Some(&state), &state, &code)
        .await
        .is_ok());
}

#[tokio::test]
async fn a_slow_sign_in_expires() {
    let idp = provider().await;
    let now = Arc::new(AtomicU64::new(1_800_000_000));
    let clock = now.clone();
    let oidc = oidc(&idp).with_clock(move || clock.load(Ordering::SeqCst));
    let begun = oidc.begin("test").await.unwrap();
    let (code, state) = visit(&begun.authorize_url).await;
    now.fetch_add(PENDING_LIFETIME_SECS, Ordering::SeqCst);
    assert!(matches!(
        oidc.finish("test", Some(&state), &state, &code).await,
        Err(OidcError::Expired)
    ));
    assert_eq!(idp.token_requests(), 0);
}

#[tokio::test]
async fn a_state_is_for_its_provider_only() {
    let idp = provider().await;
    let oidc = Oidc::new(
        BASE,
        vec![config("test", &idp, SECRET), config("other", &idp, SECRET)],
    )
    .unwrap();
    let begun = oidc.begin("test").await.unwrap();
    let (code, state) = visit(&begun.authorize_url).await;
    assert!(matches!(
        oidc.finish("other", Some(&state), &state, &code).await,
        Err(OidcError::WrongProvider)
    ));
    assert!(matches!(
        oidc.begin("nope").await,
        Err(OidcError::UnknownProvider(name)) if name == "nope"
    ));
}

#[tokio::test]
async fn discovery_is_checked_and_retried_after_a_failure() {
    let idp = provider().await;
    let oidc = oidc(&idp);
    idp.set(Knob::DiscoveryWrongIssuer);
    let err = oidc.begin("test").await.unwrap_err();
    assert!(
        matches!(
            &err,
            OidcError::Discovery {
                source: DiscoveryError::IssuerMismatch { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with("Test's configuration is not usable"));
    idp.behave();
    assert!(sign_in(&oidc).await.is_ok());
}

#[tokio::test]
async fn client_authentication_basic_post_and_wrong_secret() {
    let idp = provider().await;
    // Basic by default (the provider offers both).
    assert!(sign_in(&oidc(&idp)).await.is_ok());
    assert_eq!(idp.last_client_auth(), Some("basic"));
    // The provider now takes only client_secret_post (and refuses Basic).
    idp.set(Knob::SecretPostOnly);
    assert!(sign_in(&oidc(&idp)).await.is_ok());
    assert_eq!(idp.last_client_auth(), Some("post"));
    idp.behave();
    let wrong = Oidc::new(BASE, vec![config("test", &idp, "not-the-secret")]).unwrap();
    let err = sign_in(&wrong).await.unwrap_err();
    assert!(
        matches!(
            &err,
            OidcError::Token {
                source: TokenError::Refused(reason),
                ..
            } if reason == "invalid_client"
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not-the-secret"));
}

#[tokio::test]
async fn the_provider_checks_the_pkce_verifier() {
    let idp = provider().await;
    let oidc = oidc(&idp);
    let begun = oidc.begin("test").await.unwrap();
    let (code, _) = visit(&begun.authorize_url).await;
    // Someone with the code but not the verifier.
    let discovery = Discovery {
        issuer: idp.issuer.clone(),
        authorization_endpoint: format!("{}/authorize", idp.issuer).parse().unwrap(),
        token_endpoint: format!("{}/token", idp.issuer).parse().unwrap(),
        jwks_uri: format!("{}/jwks", idp.issuer).parse().unwrap(),
        client_auth: ClientAuth::Post,
    };
    let req = token_request(
        &discovery,
        &Exchange {
            client_id: CLIENT,
            client_secret: SECRET,
            code: &code,
            redirect_uri: &format!("{BASE}/auth/oidc/test/callback"),
            code_verifier: "a-guess-a-guess-a-guess-a-guess-a-guess-a-guess",
        },
    );
    let resp = browser()
        .post(req.url)
        .form(&req.form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn an_unreachable_provider() {
    let idp = provider().await;
    let cfg = config("test", &idp, SECRET);
    drop(idp);
    let oidc = Oidc::new(BASE, vec![cfg]).unwrap();
    let err = oidc.begin("test").await.unwrap_err();
    assert!(matches!(err, OidcError::Unreachable { .. }), "{err:?}");
}

fn identity(issuer: &str, subject: &str, email: Option<&str>, verified: bool) -> Identity {
    Identity {
        issuer: issuer.into(),
        subject: subject.into(),
        email: email.map(str::to_owned),
        email_verified: verified,
        name: None,
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn identities_link_to_users(t) {
        let users = Users::new(t.db().clone());
        let google = "https://accounts.google.com";

        // New and verified: a customer without a password.
        let ada = users
            .sign_in_oidc(&identity(google, "g-1", Some("ada@example.com"), true))
            .await
            .unwrap();
        assert_eq!(ada.role, Role::Customer);
        assert!(matches!(
            users.authenticate("ada@example.com", "").await,
            Err(AuthError::BadCredentials)
        ));
        // Known: the same user, whatever the email says now.
        let later = identity(google, "g-1", Some("ada@new.example.com"), false);
        assert_eq!(users.sign_in_oidc(&later).await.unwrap().id, ada.id);
        // Another provider's account with the same verified email joins her.
        let ms = "https://login.microsoftonline.com/t/v2.0";
        let ms_ada = identity(ms, "m-1", Some("ADA@example.com"), true);
        assert_eq!(users.sign_in_oidc(&ms_ada).await.unwrap().id, ada.id);
        assert_eq!(users.count().await.unwrap(), 1);

        // An existing password user is linked by verified email.
        let bob = users
            .create("bob@example.com", Some("correct horse battery"), Role::Admin)
            .await
            .unwrap();
        let linked = users
            .sign_in_oidc(&identity(google, "g-2", Some("Bob@Example.com"), true))
            .await
            .unwrap();
        assert_eq!((linked.id, linked.role), (bob.id, Role::Admin));

        // Unknown accounts without a verified email are refused, and make
        // nothing; the unverified claim of Bob's address links nothing.
        for refused in [
            identity(google, "g-3", Some("bob@example.com"), false),
            identity(google, "g-4", Some("carol@example.com"), false),
            identity(google, "g-5", None, true),
        ] {
            assert!(matches!(
                users.sign_in_oidc(&refused).await,
                Err(OidcUserError::UnverifiedEmail)
            ));
        }
        assert_eq!(users.count().await.unwrap(), 2);
        let verified_later = identity(google, "g-3", Some("bob@example.com"), true);
        assert_eq!(users.sign_in_oidc(&verified_later).await.unwrap().id, bob.id);

        // A provider's email the platform cannot take is refused as such.
        assert!(matches!(
            users
                .sign_in_oidc(&identity(google, "g-6", Some("root@localhost"), true))
                .await,
            Err(OidcUserError::Auth(AuthError::BadEmail))
        ));
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn an_unverified_email_is_refused_after_a_real_sign_in(t) {
        let idp = provider().await;
        idp.set(Knob::EmailUnverified);
        let users = Users::new(t.db().clone());
        let id = sign_in(&oidc(&idp)).await.unwrap();
        let err = users.sign_in_oidc(&id).await.unwrap_err();
        assert!(matches!(err, OidcUserError::UnverifiedEmail));
        assert!(err.to_string().contains("not confirmed an email"));
        assert_eq!(users.count().await.unwrap(), 0);
    }
}
