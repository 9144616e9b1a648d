//! The dashboard through the router, with a cookie jar standing in for the
//! browser: sign-in (password, TOTP, OpenID Connect against the test
//! provider), CSRF refusals, rate limits, roles, and the pages' forms.
//! The Chromium test (`browser.rs`) covers the same in a real browser.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use gsp_control::auth::oidc::{Oidc, ProviderConfig};
use gsp_control::auth::{totp, Role, Users};
use gsp_control::backup::BackupStore;
use gsp_control::fleet::Fleet;
use gsp_control::ledger::{Account, Ledger, Millis};
use gsp_control::servers::Servers;
use gsp_platform::api::AppState;
use gsp_store::testing::TestDb;
use http_body_util::BodyExt;
use tower::ServiceExt;

use gsp_control::testing::command_template;

use gsp_control::testing::Recorder;

#[path = "../../control/tests/support/oidc_provider.rs"]
mod oidc_provider;
use oidc_provider::{TestProvider, TestUser};

/// A browser: a cookie jar over the router.
struct Browser {
    app: axum::Router,
    jar: BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Page {
    /// The value of the first hidden `name` field.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} field in {}", self.body))
            + marker.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

impl Browser {
    fn new(app: axum::Router) -> Browser {
        Browser {
            app,
            jar: BTreeMap::new(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, cookies.join("; "))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        for c in response.headers().get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, &[]).await
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/signin").await;
        let csrf = form.field("csrf");
        self.send(
            "POST",
            "/signin",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Fixture {
    state: AppState,
    users: Users,
    template_id: i64,
}

async fn fixture(t: &TestDb) -> Fixture {
    let db = t.db().clone();
    let users = Users::new(db.clone());
    let root = users
        .create("root@x.com", Some("correct horse"), Role::Admin)
        .await
        .unwrap();
    let ada = users
        .create("ada@x.com", Some("battery staple"), Role::Customer)
        .await
        .unwrap();
    Ledger::new(db.clone())
        .grant(
            &root.id.to_string(),
            "setup",
            &ada.id.to_string(),
            Millis(5_000),
            "",
        )
        .await
        .unwrap();
    let template = Servers::new(db.clone())
        .create_template(&command_template("gsp-world"))
        .await
        .unwrap();
    Fixture {
        state: AppState::new(db).with_orchestrator(Arc::new(Recorder::default())),
        users,
        template_id: template.id,
    }
}

async fn sign_in_and_manage_servers(t: TestDb) {
    let f = fixture(&t).await;
    let mut ada = Browser::new(gsp_platform::app(f.state.clone()));

    // Signed out: pages send you to sign in.
    let p = ada.get("/servers").await;
    assert_eq!(p.location.as_deref(), Some("/signin"));

    // The sign-in form needs its own double-submit token.
    let p = ada
        .send(
            "POST",
            "/signin",
            &[
                ("csrf", "forged"),
                ("email", "ada@x.com"),
                ("password", "battery staple"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = ada.sign_in("ada@x.com", "wrong password").await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("Wrong email or password."), "{}", p.body);
    let p = ada.sign_in("ada@x.com", "battery staple").await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/servers"))
    );
    let session = ada.jar["gsp_session"].clone();
    assert!(session.starts_with("gsp_s_"));

    // The list, then a create without and with the CSRF token.
    let list = ada.get("/servers").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("No servers yet"), "{}", list.body);
    let csrf = list.field("csrf");
    let template = f.template_id.to_string();
    let p = ada
        .send(
            "POST",
            "/servers",
            &[
                ("csrf", "nope"),
                ("name", "Ada's town"),
                ("template_id", &template),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = ada
        .send(
            "POST",
            "/servers",
            &[
                ("csrf", &csrf),
                ("name", "Ada's town"),
                ("template_id", &template),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let at = p.location.unwrap();
    assert!(at.ends_with("?ok=created"), "{at}");
    let page = ada.get(&at).await;
    assert!(page.body.contains("Ada&#39;s town") || page.body.contains("Ada's town"));
    assert!(page.body.contains("Server created"));
    assert!(
        page.body.contains("says hello"),
        "the log snapshot: {}",
        page.body
    );
    let list = ada.get("/servers").await;
    assert!(list.body.contains("data-server="), "listed: {}", list.body);
    let billing = ada.get("/billing").await;
    assert!(
        billing.body.contains("3.500 cr"),
        "the first hour was held: {}",
        billing.body
    );

    // Hibernate through the page's button.
    let id = at
        .trim_start_matches("/servers/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let p = ada
        .send(
            "POST",
            &format!("/servers/{id}/hibernate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.location, Some(format!("/servers/{id}?ok=hibernate")));
    let p = ada
        .send(
            "POST",
            &format!("/servers/{id}/hibernate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "already hibernated");

    // A customer is no admin; another customer's server is not there.
    assert_eq!(ada.get("/admin/users").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        ada.get("/billing?user=1").await.status,
        StatusCode::FORBIDDEN
    );
    let mut root = Browser::new(gsp_platform::app(f.state.clone()));
    root.sign_in("root@x.com", "correct horse").await;
    let users = root.get("/admin/users").await;
    assert!(users.body.contains("ada@x.com") && users.body.contains("3.500 cr"));
    let nodes = root.get("/admin/nodes").await;
    assert!(nodes.body.contains("127.0.0.1:7070"), "{}", nodes.body);
    let bob = f
        .users
        .create("bob@x.com", Some("bob's password"), Role::Customer)
        .await
        .unwrap();
    let mut bob_browser = Browser::new(gsp_platform::app(f.state.clone()));
    bob_browser.sign_in(&bob.email, "bob's password").await;
    assert_eq!(
        bob_browser.get(&format!("/servers/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Signing out ends the session: the old cookie is worth nothing.
    let p = ada.send("POST", "/signout", &[("csrf", &csrf)]).await;
    assert_eq!(p.location.as_deref(), Some("/signin"));
    ada.jar.insert("gsp_session".into(), session);
    assert_eq!(
        ada.get("/servers").await.location.as_deref(),
        Some("/signin")
    );
}

async fn totp_and_admin_forms(t: TestDb) {
    let f = fixture(&t).await;
    let mut root = Browser::new(gsp_platform::app(f.state.clone()));
    root.sign_in("root@x.com", "correct horse").await;

    // Admin forms: a user, a grant (once per form), a template.
    let users = root.get("/admin/users").await;
    let csrf = users.field("csrf");
    let p = root
        .send(
            "POST",
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("email", "eve@x.com"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "weak password shown");
    let p = root
        .send(
            "POST",
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("email", "eve@x.com"),
                ("password", "long enough"),
            ],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/admin/users?ok=user"));
    let eve = f.users.find_by_email("eve@x.com").await.unwrap().unwrap();
    let users = root.get("/admin/users").await;
    let request = users.field("request_id");
    let eve_id = eve.id.to_string();
    for _ in 0..2 {
        let p = root
            .send(
                "POST",
                "/admin/credits",
                &[
                    ("csrf", &csrf),
                    ("request_id", &request),
                    ("user_id", &eve_id),
                    ("amount", "2.5"),
                ],
            )
            .await;
        assert_eq!(p.location.as_deref(), Some("/admin/users?ok=granted"));
    }
    let wallet = Account::wallet(&eve_id).unwrap();
    assert_eq!(
        f.state.ledger.balance(&wallet).await.unwrap(),
        Millis(2_500),
        "granted once"
    );
    let p = root
        .send(
            "POST",
            "/admin/templates",
            &[
                ("csrf", &csrf),
                ("name", "tiny"),
                ("runtime", "command"),
                ("launch", "gsp world"),
                ("ports", "telnet/tcp, quic/udp"),
                ("cpu", "0.5"),
                ("memory_mib", "128"),
                ("price", "0.75"),
                ("idle_minutes", "5"),
            ],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/admin/templates?ok=template"),
        "{}",
        p.body
    );
    let tiny = f
        .state
        .servers
        .templates()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "tiny")
        .unwrap();
    assert_eq!(
        (tiny.cpu_millis, tiny.price_per_hour, tiny.ports.len()),
        (500, 750, 2)
    );

    // Ada turns TOTP on from her account page; sign-in then asks for it.
    let mut ada = Browser::new(gsp_platform::app(f.state.clone()));
    ada.sign_in("ada@x.com", "battery staple").await;
    let account = ada.get("/account").await;
    let csrf = account.field("csrf");
    let setup = ada
        .send("POST", "/account/totp/begin", &[("csrf", &csrf)])
        .await;
    let secret = setup.field("secret");
    let key = totp::decode_secret(&secret).unwrap();
    let now = gsp_control::auth::now_ms() as u64 / 1000;
    let code = format!("{:06}", totp::code_at_step(&key, totp::step_of(now)));
    let done = ada
        .send(
            "POST",
            "/account/totp/confirm",
            &[("csrf", &csrf), ("secret", &secret), ("code", &code)],
        )
        .await;
    assert!(done.body.contains("recovery codes"), "{}", done.body);
    let recovery: String = done
        .body
        .split("<li>")
        .nth(1)
        .unwrap()
        .split("</li>")
        .next()
        .unwrap()
        .into();

    let mut again = Browser::new(gsp_platform::app(f.state.clone()));
    let p = again.sign_in("ada@x.com", "battery staple").await;
    assert_eq!(p.location.as_deref(), Some("/signin/totp"));
    assert_eq!(
        again.get("/servers").await.location.as_deref(),
        Some("/signin/totp"),
        "pending"
    );
    let form = again.get("/signin/totp").await;
    let pending_csrf = form.field("csrf");
    let p = again
        .send(
            "POST",
            "/signin/totp",
            &[("csrf", &pending_csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let p = again
        .send(
            "POST",
            "/signin/totp",
            &[("csrf", &pending_csrf), ("code", &recovery)],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/servers"), "{}", p.body);
    assert_eq!(again.get("/servers").await.status, StatusCode::OK);

    // Too many wrong passwords for one email: 429, even with the right one.
    let mut guesser = Browser::new(gsp_platform::app(f.state.clone()));
    let mut limited = false;
    for _ in 0..10 {
        let p = guesser.sign_in("eve@x.com", "guess guess").await;
        if p.status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    }
    assert!(limited, "sign-in attempts are limited");
    let p = guesser.sign_in("eve@x.com", "long enough").await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn oidc_sign_in(t: TestDb) {
    let f = fixture(&t).await;
    let provider =
        TestProvider::start("gsp", "s3cret", TestUser::new("sub-42", "grace@x.com")).await;
    let config: ProviderConfig = format!(
        "name=test,label=Test ID,issuer={},client-id=gsp,client-secret=s3cret",
        provider.issuer
    )
    .parse()
    .unwrap();
    let oidc = Oidc::new("http://platform.test", vec![config]).unwrap();
    let state = f.state.clone().with_oidc(oidc);
    let mut grace = Browser::new(gsp_platform::app(state));
    let form = grace.get("/signin").await;
    assert!(form.body.contains("Sign in with Test ID"), "{}", form.body);

    let start = grace.get("/auth/oidc/test").await;
    let authorize = start.location.expect("sent to the provider");
    assert!(authorize.starts_with(&provider.issuer), "{authorize}");
    assert!(grace.jar.contains_key("gsp_oidc_state"));
    // The provider approves and sends the browser back.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let back = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&authorize)
        .send()
        .await
        .unwrap();
    let callback = back.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let path = callback
        .trim_start_matches("http://platform.test")
        .to_string();
    assert!(path.starts_with("/auth/oidc/test/callback?"), "{callback}");

    // Another browser cannot finish it (no state cookie)...
    let mut stranger = Browser::new(gsp_platform::app(
        f.state
            .clone()
            .with_oidc(Oidc::new("http://platform.test", vec![]).unwrap()),
    ));
    assert_eq!(stranger.get(&path).await.status, StatusCode::NOT_FOUND);
    // ...the one that started it can, once.
    let done = grace.get(&path).await;
    assert_eq!(done.location.as_deref(), Some("/servers"), "{}", done.body);
    let list = grace.get("/servers").await;
    assert!(list.body.contains("grace@x.com"), "signed in as grace");
    let replay = grace.get(&path).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn sign_in_and_manage_servers(t) {
        sign_in_and_manage_servers(t).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn totp_and_admin_forms(t) {
        totp_and_admin_forms(t).await;
    }
}

/// A server's page takes backups and restores them.
async fn backups_from_the_server_page(t: TestDb) {
    let f = fixture(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let state = f
        .state
        .clone()
        .with_orchestrator(recorder.clone())
        .with_backups(BackupStore::local(dir.path()).unwrap());
    let mut ada = Browser::new(gsp_platform::app(state.clone()));
    ada.sign_in("ada@x.com", "battery staple").await;
    let csrf = ada.get("/servers").await.field("csrf");
    let template = f.template_id.to_string();
    let p = ada
        .send(
            "POST",
            "/servers",
            &[
                ("csrf", &csrf),
                ("name", "Backed up"),
                ("template_id", &template),
            ],
        )
        .await;
    let at = p.location.unwrap_or_else(|| panic!("{}", p.body));
    let id: i64 = at
        .trim_start_matches("/servers/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = ada.get(&format!("/servers/{id}")).await;
    assert!(page.body.contains("No backup yet"), "{}", page.body);

    let p = ada
        .send(
            "POST",
            &format!("/servers/{id}/backup"),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = ada
        .send("POST", &format!("/servers/{id}/backup"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        p.location,
        Some(format!("/servers/{id}?ok=backup")),
        "{}",
        p.body
    );
    assert!(recorder.calls().contains(&format!("backup {id}")));
    let page = ada.get(&format!("/servers/{id}?ok=backup")).await;
    assert!(page.body.contains("Backup taken."), "{}", page.body);
    let name = page.field("backup");
    assert!(name.ends_with(".tar.gz"), "{name}");
    assert!(
        page.body.contains("B</td>") || page.body.contains("KiB"),
        "a size: {}",
        page.body
    );

    // Another customer can neither back it up nor restore it.
    let bob = f
        .users
        .create("bob@x.com", Some("bob's password"), Role::Customer)
        .await
        .unwrap();
    let mut bob_browser = Browser::new(gsp_platform::app(state.clone()));
    bob_browser.sign_in(&bob.email, "bob's password").await;
    let bob_csrf = bob_browser.get("/servers").await.field("csrf");
    for action in ["backup", "restore"] {
        let p = bob_browser
            .send(
                "POST",
                &format!("/servers/{id}/{action}"),
                &[("csrf", &bob_csrf), ("backup", &name)],
            )
            .await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{action}");
    }

    // Names that are not this server's backups change nothing.
    for (bad, status) in [
        ("../../etc/passwd", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
        ("1.tar.gz", StatusCode::NOT_FOUND),
    ] {
        let p = ada
            .send(
                "POST",
                &format!("/servers/{id}/restore"),
                &[("csrf", &csrf), ("backup", bad)],
            )
            .await;
        assert_eq!(p.status, status, "{bad:?}: {}", p.body);
    }
    assert!(
        !recorder.calls().iter().any(|c| c.starts_with("restore")),
        "{:?}",
        recorder.calls()
    );

    // The restore stops the running server and hands the agent the backup.
    let p = ada
        .send(
            "POST",
            &format!("/servers/{id}/restore"),
            &[("csrf", &csrf), ("backup", &name)],
        )
        .await;
    assert_eq!(
        p.location,
        Some(format!("/servers/{id}?ok=restore")),
        "{}",
        p.body
    );
    let calls = recorder.calls();
    assert!(calls.contains(&format!("stop {id}")), "{calls:?}");
    assert_eq!(
        calls.last(),
        Some(&format!("restore {id} data of server {id}")),
        "{calls:?}"
    );
    let server = state
        .servers
        .get(0, Role::Admin, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(server.state, gsp_control::servers::ServerState::Hibernated);
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn backups_from_the_server_page(t) {
        backups_from_the_server_page(t).await;
    }
}

/// Admins add nodes from the dashboard: the token is shown once, works
/// for the agent, and bad names and customers are refused.
async fn admins_add_nodes(t: TestDb) {
    let db = t.db().clone();
    let users = Users::new(db.clone());
    users
        .create("root@x.com", Some("correct horse"), Role::Admin)
        .await
        .unwrap();
    users
        .create("ada@x.com", Some("battery staple"), Role::Customer)
        .await
        .unwrap();
    let fleet = Fleet::new(db.clone());
    let state = AppState::new(db).with_fleet(fleet.clone());
    let mut root = Browser::new(gsp_platform::app(state.clone()));
    root.sign_in("root@x.com", "correct horse").await;

    let page = root.get("/admin/nodes").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Add a node"), "{}", page.body);
    let csrf = page.field("csrf");
    let added = root
        .send(
            "POST",
            "/admin/nodes",
            &[("csrf", &csrf), ("name", "node-2")],
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let token = added
        .body
        .split("--token ")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no token in {}", added.body))
        .to_string();
    assert!(token.starts_with("gsp_nt_"), "{token}");
    assert_eq!(
        fleet.authenticate(&token).await.unwrap().map(|n| n.name),
        Some("node-2".to_string()),
        "the token shown is the node's"
    );
    assert!(
        root.get("/admin/nodes").await.body.contains("node-2"),
        "listed"
    );
    assert!(
        !root.get("/admin/nodes").await.body.contains(&token),
        "shown once"
    );

    for (name, status) in [
        ("node-2", StatusCode::CONFLICT),
        ("no spaces", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
    ] {
        let p = root
            .send("POST", "/admin/nodes", &[("csrf", &csrf), ("name", name)])
            .await;
        assert_eq!(p.status, status, "{name:?}: {}", p.body);
        assert!(!p.body.contains("gsp_nt_"), "{name:?}: no token");
    }
    let p = root
        .send(
            "POST",
            "/admin/nodes",
            &[("csrf", "forged"), ("name", "node-3")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    let mut ada = Browser::new(gsp_platform::app(state));
    ada.sign_in("ada@x.com", "battery staple").await;
    let csrf = ada.get("/servers").await.field("csrf");
    let p = ada
        .send(
            "POST",
            "/admin/nodes",
            &[("csrf", &csrf), ("name", "node-4")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(
        fleet
            .nodes()
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect::<Vec<_>>(),
        ["node-2"],
        "only the admin's node was made"
    );
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn admins_add_nodes(t) {
        admins_add_nodes(t).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn oidc_sign_in(t) {
        oidc_sign_in(t).await;
    }
}

async fn shipped_templates_and_a_crashed_server(t: TestDb) {
    let f = fixture(&t).await;
    let mut root = Browser::new(gsp_platform::app(f.state.clone()));
    root.sign_in("root@x.com", "correct horse").await;
    let page = root.get("/admin/templates").await;
    assert!(page.body.contains("minecraft-java"), "{}", page.body);
    let csrf = page.field("csrf");
    let p = root
        .send(
            "POST",
            "/admin/templates/shipped",
            &[("csrf", &csrf), ("name", "minecraft-java")],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/admin/templates?ok=shipped"),
        "{}",
        p.body
    );
    let minecraft = f
        .state
        .servers
        .templates()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "minecraft-java")
        .unwrap();
    assert_eq!(
        minecraft.game.players,
        gsp_agent_api::Players::MinecraftSlp {
            port: "game".into()
        }
    );
    assert_eq!(minecraft.ports[0].port, Some(25565));
    // Once added it says so; an unknown name or a second add is refused.
    assert!(root.get("/admin/templates").await.body.contains("added"));
    for name in ["minecraft-java", "quake"] {
        let p = root
            .send(
                "POST",
                "/admin/templates/shipped",
                &[("csrf", &csrf), ("name", name)],
            )
            .await;
        assert!(p.status.is_client_error(), "{name}: {}", p.status);
    }

    // A crashed server's page shows the reason and its last lines.
    let ada = f.users.find_by_email("ada@x.com").await.unwrap().unwrap();
    let caller = gsp_control::auth::Caller {
        user_id: ada.id,
        role: Role::Customer,
    };
    let server = f
        .state
        .hosting
        .create(caller, f.template_id, "town")
        .await
        .unwrap();
    let exit = gsp_agent_api::Exited {
        at_ms: gsp_control::auth::now_ms(),
        status: "exit status: 101".into(),
        outcome: gsp_agent_api::ExitOutcome::Crashed,
        last_lines: vec!["thread 'main' panicked: <no spawn point>".into()],
    };
    f.state.hosting.record_exit(server.id, &exit).await.unwrap();
    let mut owner = Browser::new(gsp_platform::app(f.state.clone()));
    owner.sign_in("ada@x.com", "battery staple").await;
    let page = owner.get(&format!("/servers/{}", server.id)).await;
    assert!(page.body.contains("data-state>crashed"), "{}", page.body);
    assert!(page.body.contains("data-exit=\"crashed\""), "{}", page.body);
    assert!(page.body.contains("exit status: 101"), "{}", page.body);
    assert!(
        page.body
            .contains("thread &#39;main&#39; panicked: &lt;no spawn point&gt;")
            || page
                .body
                .contains("thread 'main' panicked: &lt;no spawn point&gt;"),
        "the last lines, escaped: {}",
        page.body
    );
    assert!(page.body.contains("Start again"), "{}", page.body);
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn shipped_templates_and_a_crashed_server(t) {
        shipped_templates_and_a_crashed_server(t).await;
    }
}
