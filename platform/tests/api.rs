//! The servers API through the router (no sockets), with a recording agent
//! standing in for the node agents (which come with the agents issue): who
//! may see and change what, and that every change reaches the agent.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gsp_control::auth::{ApiKeys, Role, Users};
use gsp_platform::api::{router, AppState};
use gsp_store::testing::TestDb;
use http_body_util::BodyExt;
use tower::ServiceExt;

use gsp_control::testing::Recorder;

struct Api {
    router: axum::Router,
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        bearer: &str,
        body: &str,
    ) -> (StatusCode, serde_json::Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {bearer}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {bytes:?}"))
        };
        (status, json)
    }
}

async fn servers_api(t: TestDb) {
    let db = t.db().clone();
    let users = Users::new(db.clone());
    let keys = ApiKeys::new(db.clone());
    let mut bearer = Vec::new();
    let mut ids = Vec::new();
    for (email, role) in [
        ("root@x.com", Role::Admin),
        ("ada@x.com", Role::Customer),
        ("bob@x.com", Role::Customer),
    ] {
        let u = users
            .create(email, Some("correct horse"), role)
            .await
            .unwrap();
        bearer.push(keys.create(u.id, "test").await.unwrap().1);
        ids.push(u.id);
    }
    let (root, ada, bob) = (&bearer[0], &bearer[1], &bearer[2]);

    // Without an agent, changes are refused with 503.
    let bare = Api {
        router: router(AppState::new(db.clone())),
    };
    let template = r#"{"name":"gsp-world","runtime":"command","launch":"gsp world",
        "ports":[{"name":"telnet","protocol":"tcp"}],"cpu_millis":1000,"memory_mib":256,"price_per_hour":1500}"#;
    let (code, _) = bare
        .call("POST", "/api/admin/templates", ada, template)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, t) = bare
        .call("POST", "/api/admin/templates", root, template)
        .await;
    assert_eq!(code, StatusCode::CREATED, "{t}");
    assert_eq!(t["idle_minutes"], 15);
    let create = format!(r#"{{"template_id":{},"name":"Ada's town"}}"#, t["id"]);
    let (code, _) = bare.call("POST", "/api/servers", ada, &create).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);

    let agent = Arc::new(Recorder::default());
    let api = Api {
        router: router(AppState::new(db.clone()).with_orchestrator(agent.clone())),
    };
    let (code, templates) = api.call("GET", "/api/templates", bob, "").await;
    assert_eq!(
        (code, templates.as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    // No credits, no server: refused before anything is made or started.
    let (code, body) = api.call("POST", "/api/servers", ada, &create).await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("not enough credits"));
    let (_, list) = api.call("GET", "/api/servers", ada, "").await;
    assert_eq!(list, serde_json::json!([]));
    assert!(agent.calls().is_empty());
    let grant = format!(
        r#"{{"user_id":{},"amount_millis":2000,"request_id":"r1"}}"#,
        ids[1]
    );
    let (code, body) = api.call("POST", "/api/admin/credits", root, &grant).await;
    assert!(code.is_success(), "{body}");

    let (code, server) = api.call("POST", "/api/servers", ada, &create).await;
    assert_eq!(code, StatusCode::CREATED, "{server}");
    // The first hour is held at once.
    let (_, billing) = api.call("GET", "/api/billing", ada, "").await;
    assert_eq!(billing["balance_millis"], 500, "{billing}");
    assert_eq!(billing["transactions"][0]["amount_millis"], -1500);
    assert_eq!(
        billing["transactions"][0]["who"],
        format!("user:{}", ids[1])
    );
    let id = server["id"].as_i64().unwrap();
    assert_eq!(server["state"], "running");
    assert_eq!(agent.calls(), vec![format!("start {id} gsp-world")]);

    // Bob sees nothing of Ada's and cannot touch it.
    let (_, list) = api.call("GET", "/api/servers", bob, "").await;
    assert_eq!(list, serde_json::json!([]));
    for (method, path) in [
        ("GET", format!("/api/servers/{id}")),
        ("DELETE", format!("/api/servers/{id}")),
        ("POST", format!("/api/servers/{id}/hibernate")),
        ("GET", format!("/api/servers/{id}/logs")),
    ] {
        let (code, body) = api.call(method, &path, bob, "").await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    assert_eq!(agent.calls().len(), 1, "nothing reached the agent");
    let (_, all) = api.call("GET", "/api/servers", root, "").await;
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(1),
        "admins see every server"
    );

    // Ada hibernates, wakes, reads logs and stats, deletes.
    let (code, s) = api
        .call("POST", &format!("/api/servers/{id}/hibernate"), ada, "")
        .await;
    assert_eq!(
        (code, s["state"].clone()),
        (StatusCode::OK, "hibernated".into())
    );
    let (code, _) = api
        .call("POST", &format!("/api/servers/{id}/hibernate"), ada, "")
        .await;
    assert_eq!(code, StatusCode::CONFLICT);
    let (code, _) = api
        .call("POST", &format!("/api/servers/{id}/wake"), ada, "")
        .await;
    assert_eq!(code, StatusCode::OK);
    let (_, billing) = api.call("GET", "/api/billing", ada, "").await;
    assert_eq!(
        billing["balance_millis"], 500,
        "a wake inside the paid hour costs nothing: {billing}"
    );
    let (_, logs) = api
        .call("GET", &format!("/api/servers/{id}/logs"), ada, "")
        .await;
    assert_eq!(logs, serde_json::json!([format!("server {id} says hello")]));
    let (_, stats) = api
        .call("GET", &format!("/api/servers/{id}/stats"), ada, "")
        .await;
    assert_eq!(stats["players"], 2);

    // A failing node is a 502 with its reason.
    *agent.broken.lock().unwrap() = true;
    let (code, body) = api
        .call("POST", &format!("/api/servers/{id}/hibernate"), ada, "")
        .await;
    assert_eq!(code, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("node unreachable"));
    *agent.broken.lock().unwrap() = false;

    let (code, _) = api
        .call("DELETE", &format!("/api/servers/{id}"), ada, "")
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = api
        .call("GET", &format!("/api/servers/{id}"), ada, "")
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(
        agent.calls(),
        vec![
            format!("start {id} gsp-world"),
            format!("stop {id}"),
            format!("start {id} gsp-world"),
            format!("logs {id}"),
            format!("stats {id}"),
            format!("remove {id}"),
        ]
    );

    // Bad input: JSON errors.
    let (code, body) = api
        .call(
            "POST",
            "/api/servers",
            ada,
            r#"{"template_id":999,"name":"x"}"#,
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, body) = api.call("POST", "/api/servers", ada, r#"{"name":1}"#).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].is_string());
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn servers_api(t) {
        servers_api(t).await;
    }
}
