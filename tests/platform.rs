//! `gsp platform` against the real binary: admin commands, API keys and
//! their revocation, JSON errors.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{gsp_bin, http_request};

struct Platform {
    child: Child,
    http: SocketAddr,
    intro: Vec<String>,
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &std::path::Path) -> Platform {
    let mut child = Command::new(gsp_bin())
        .args(["platform", "--http", "127.0.0.1:0", "--data"])
        .arg(data)
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

/// Runs `gsp platform ARGS --data DATA`; returns stdout, asserting success.
fn admin(data: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(gsp_bin())
        .arg("platform")
        .args(args)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run gsp platform");
    assert!(
        out.status.success(),
        "gsp platform {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
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

    let created = admin(
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
    let key = admin(
        dir.path(),
        &["apikey", "create", "--email", "root@example.com"],
    );
    let key = key.trim();
    assert!(key.starts_with("gsp_ak_"), "{key}");
    let bearer = format!("Bearer {key}");

    let (code, body) = http_request(
        platform.http,
        "GET",
        "/api/me",
        &[("Authorization", &bearer)],
        "",
    );
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
    let (code, body) = http_request(
        platform.http,
        "POST",
        "/api/keys",
        &[("Authorization", &bearer)],
        r#"{"name":"deploys"}"#,
    );
    assert_eq!(code, 201, "{body}");
    let second = json(&body);
    let second_secret = second["secret"].as_str().unwrap().to_owned();
    let second_bearer = format!("Bearer {second_secret}");
    let id = second["id"].as_i64().unwrap();
    let (code, _) = http_request(
        platform.http,
        "GET",
        "/api/me",
        &[("Authorization", &second_bearer)],
        "",
    );
    assert_eq!(code, 200);
    let (code, body) = http_request(
        platform.http,
        "GET",
        "/api/keys",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(code, 200);
    let listed = json(&body);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{body}");
    assert!(!body.contains(&second_secret), "secrets are never listed");
    let (code, body) = http_request(
        platform.http,
        "DELETE",
        &format!("/api/keys/{id}"),
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(code, 204, "{body}");
    let (code, body) = http_request(
        platform.http,
        "GET",
        "/api/me",
        &[("Authorization", &second_bearer)],
        "",
    );
    assert_eq!(code, 401, "a revoked key is refused: {body}");
    assert!(body.contains("revoked"), "{body}");

    // A customer cannot revoke the admin's key.
    admin(
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
    let cy_key = admin(
        dir.path(),
        &["apikey", "create", "--email", "cy@example.com"],
    );
    let cy = format!("Bearer {}", cy_key.trim());
    let root_keys = json(
        &http_request(
            platform.http,
            "GET",
            "/api/keys",
            &[("Authorization", &bearer)],
            "",
        )
        .1,
    );
    let root_key_id = root_keys[1]["id"].as_i64().unwrap();
    let (code, _) = http_request(
        platform.http,
        "DELETE",
        &format!("/api/keys/{root_key_id}"),
        &[("Authorization", &cy)],
        "",
    );
    assert_eq!(code, 404);
    let (code, _) = http_request(
        platform.http,
        "GET",
        "/api/me",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(code, 200, "the admin's key still works");

    // Bad input: 400/404 with JSON, never a crash.
    let (code, body) = http_request(
        platform.http,
        "POST",
        "/api/keys",
        &[("Authorization", &bearer)],
        "{not json",
    );
    assert_eq!(code, 400, "{body}");
    assert!(json(&body)["error"].is_string(), "{body}");
    let (code, body) = http_request(platform.http, "GET", "/api/nothing-here", &[], "");
    assert_eq!(code, 404);
    assert!(json(&body)["error"].is_string());
    let (code, _) = http_request(platform.http, "GET", "/health", &[], "");
    assert_eq!(code, 200);
}
