//! `gsp platform` against the real binary: admin commands, API keys and
//! their revocation, JSON errors.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{gsp_bin, http_request, platform_admin};

struct Platform {
    child: Child,
    http: SocketAddr,
    intro: Vec<String>,
}

impl Platform {
    /// A request with `Authorization: <bearer>`: (status, body).
    fn call(&self, method: &str, path: &str, bearer: &str, body: &str) -> (u16, String) {
        http_request(self.http, method, path, &[("Authorization", bearer)], body)
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &std::path::Path) -> Platform {
    start_with(data, &[])
}

fn start_with(data: &std::path::Path, extra: &[&str]) -> Platform {
    let mut child = Command::new(gsp_bin())
        .args(["platform", "--http", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn gsp platform");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("gsp platform printed nothing");
    let http = first
        .strip_prefix("listening http=")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .parse()
        .unwrap();
    let mut intro = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
        intro.push(line);
    }
    Platform { child, http, intro }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn admin_commands_api_keys_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let platform = start(dir.path());
    let intro = platform.intro.join("\n");
    assert!(
        intro.contains("gsp platform user create"),
        "first start says how: {intro}"
    );

    let created = platform_admin(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--password",
            "correct horse",
            "--admin",
        ],
    );
    assert!(
        created.contains("created admin user root@example.com"),
        "{created}"
    );
    let key = platform_admin(
        dir.path(),
        &["apikey", "create", "--email", "root@example.com"],
    );
    let key = key.trim();
    assert!(key.starts_with("gsp_ak_"), "{key}");
    let bearer = format!("Bearer {key}");

    let (code, body) = platform.call("GET", "/api/me", &bearer, "");
    assert_eq!(code, 200, "{body}");
    let me = json(&body);
    assert_eq!(
        (me["email"].as_str(), me["role"].as_str()),
        (Some("root@example.com"), Some("admin"))
    );

    // No caller, a malformed one, a made-up key: 401 with a JSON message.
    for headers in [
        vec![],
        vec![("Authorization", "Basic abc")],
        vec![("Authorization", "Bearer gsp_ak_nope")],
    ] {
        let (code, body) = http_request(platform.http, "GET", "/api/me", &headers, "");
        assert_eq!(code, 401, "{headers:?}: {body}");
        assert!(
            json(&body)["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }

    // A second key through the API, shown once; revoking it locks it out.
    let (code, body) = platform.call("POST", "/api/keys", &bearer, r#"{"name":"deploys"}"#);
    assert_eq!(code, 201, "{body}");
    let second = json(&body);
    let second_secret = second["secret"].as_str().unwrap().to_owned();
    let second_bearer = format!("Bearer {second_secret}");
    let id = second["id"].as_i64().unwrap();
    let (code, _) = platform.call("GET", "/api/me", &second_bearer, "");
    assert_eq!(code, 200);
    let (code, body) = platform.call("GET", "/api/keys", &bearer, "");
    assert_eq!(code, 200);
    let listed = json(&body);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{body}");
    assert!(!body.contains(&second_secret), "secrets are never listed");
    let (code, body) = platform.call("DELETE", &format!("/api/keys/{id}"), &bearer, "");
    assert_eq!(code, 204, "{body}");
    let (code, body) = platform.call("GET", "/api/me", &second_bearer, "");
    assert_eq!(code, 401, "a revoked key is refused: {body}");
    assert!(body.contains("revoked"), "{body}");

    // A customer cannot revoke the admin's key.
    platform_admin(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "cy@example.com",
            "--password",
            "another horse",
        ],
    );
    let cy_key = platform_admin(
        dir.path(),
        &["apikey", "create", "--email", "cy@example.com"],
    );
    let cy = format!("Bearer {}", cy_key.trim());
    let root_keys = json(&platform.call("GET", "/api/keys", &bearer, "").1);
    let root_key_id = root_keys[1]["id"].as_i64().unwrap();
    let (code, _) = platform.call("DELETE", &format!("/api/keys/{root_key_id}"), &cy, "");
    assert_eq!(code, 404);
    let (code, _) = platform.call("GET", "/api/me", &bearer, "");
    assert_eq!(code, 200, "the admin's key still works");

    // Bad input: 400/404 with JSON, never a crash.
    let (code, body) = platform.call("POST", "/api/keys", &bearer, "{not json");
    assert_eq!(code, 400, "{body}");
    assert!(json(&body)["error"].is_string(), "{body}");
    let (code, body) = http_request(platform.http, "GET", "/api/nothing-here", &[], "");
    assert_eq!(code, 404);
    assert!(json(&body)["error"].is_string());
    let (code, _) = http_request(platform.http, "GET", "/health", &[], "");
    assert_eq!(code, 200);
}

/// An admin and a customer with API keys: (admin bearer, customer bearer, customer id).
fn admin_and_customer(data: &std::path::Path, platform: &Platform) -> (String, String, i64) {
    platform_admin(
        data,
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--password",
            "correct horse",
            "--admin",
        ],
    );
    platform_admin(
        data,
        &[
            "user",
            "create",
            "--email",
            "cy@example.com",
            "--password",
            "another horse",
        ],
    );
    let root = format!(
        "Bearer {}",
        platform_admin(data, &["apikey", "create", "--email", "root@example.com"]).trim()
    );
    let cy = format!(
        "Bearer {}",
        platform_admin(data, &["apikey", "create", "--email", "cy@example.com"]).trim()
    );
    let (_, me) = platform.call("GET", "/api/me", &cy, "");
    let cy_id = json(&me)["id"].as_i64().unwrap();
    (root, cy, cy_id)
}

fn balance(platform: &Platform, bearer: &str) -> i64 {
    let (code, body) = platform.call("GET", "/api/billing", bearer, "");
    assert_eq!(code, 200, "{body}");
    json(&body)["balance_millis"].as_i64().unwrap()
}

#[test]
fn grants_and_signed_payment_webhooks_credit_once() {
    const SECRET: &str = "whsec_test_secret";
    let dir = tempfile::tempdir().unwrap();
    let platform = start_with(dir.path(), &["--webhook-secret", SECRET]);
    let (root, cy, cy_id) = admin_and_customer(dir.path(), &platform);
    assert_eq!(balance(&platform, &cy), 0);

    // Grants: admins only; the same request id grants once.
    let grant = format!(
        r#"{{"user_id":{cy_id},"amount_millis":5000,"request_id":"r-1","memo":"welcome"}}"#
    );
    let (code, body) = platform.call("POST", "/api/admin/credits", &cy, &grant);
    assert_eq!(code, 403, "{body}");
    let (code, body) = platform.call("POST", "/api/admin/credits", &root, &grant);
    assert_eq!(code, 201, "{body}");
    let (code, body) = platform.call("POST", "/api/admin/credits", &root, &grant);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["duplicate"], true);
    assert_eq!(balance(&platform, &cy), 5000);
    let (code, _) = platform.call(
        "POST",
        "/api/admin/credits",
        &root,
        r#"{"user_id":999,"amount_millis":1,"request_id":"r-2"}"#,
    );
    assert_eq!(code, 400, "no such user");

    // A signed payment deposits; the same event again deposits nothing.
    let event = format!(
        r#"{{"id":"evt_1","type":"payment_intent.succeeded","data":{{"object":{{"id":"pi_1","amount_received":2500,"metadata":{{"user_id":"{cy_id}"}}}}}}}}"#
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signed = |t: u64, secret: &str| {
        format!(
            "t={t},v1={}",
            gsp_control::payments::sign(secret, t, event.as_bytes())
        )
    };
    let post = |signature: &str| {
        http_request(
            platform.http,
            "POST",
            "/api/webhooks/payments",
            &[("Stripe-Signature", signature)],
            &event,
        )
    };
    let (code, body) = post(&signed(now, SECRET));
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["duplicate"], false);
    let (code, body) = post(&signed(now, SECRET));
    assert_eq!(
        (code, json(&body)["duplicate"].clone()),
        (200, serde_json::json!(true))
    );
    assert_eq!(balance(&platform, &cy), 5000 + 25_000);

    // Forged, stale or unsigned: refused, nothing credited.
    for bad in [
        signed(now, "whsec_wrong"),
        signed(now - 3600, SECRET),
        String::new(),
    ] {
        let (code, body) = post(&bad);
        assert_eq!(code, 400, "{bad}: {body}");
        assert!(json(&body)["error"].is_string());
    }
    assert_eq!(balance(&platform, &cy), 30_000);

    // The history says who caused what; only admins read others' billing.
    let (_, body) = platform.call("GET", "/api/billing", &cy, "");
    let history = json(&body);
    let whos: Vec<&str> = history["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["who"].as_str().unwrap())
        .collect();
    assert_eq!(whos.len(), 2, "{body}");
    assert!(whos.contains(&"webhook:evt_1"), "{body}");
    let (code, body) = platform.call("GET", &format!("/api/billing?user={cy_id}"), &root, "");
    assert_eq!(code, 200);
    assert_eq!(json(&body)["balance_millis"], 30_000);
    let (code, _) = platform.call("GET", "/api/billing?user=1", &cy, "");
    assert_eq!(code, 403);
}
