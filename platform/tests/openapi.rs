//! The OpenAPI document against the router it describes (no sockets):
//!
//! - the document is well-formed OpenAPI 3.x: every `$ref` resolves, path
//!   parameters match their templates, names are unique and declared, and
//!   it lists exactly the operations of [`OPERATIONS`];
//! - every documented operation reaches its handler (not the JSON 404
//!   fallback, not 405) and answers only statuses the document lists, with
//!   or without a caller, by API key or by cookie;
//! - called properly, every operation succeeds, and every body it answers
//!   (errors too) matches the documented schema, field by field, with no
//!   undocumented fields;
//! - the router serves no method or path the document leaves out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gsp_control::auth::{ApiKeys, Role, Sessions, Users};
use gsp_control::ledger::Millis;
use gsp_platform::api::{openapi, router, AppState};
use gsp_store::testing::TestDb;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use gsp_control::testing::Recorder;

/// Every operation, in the order the full pass calls them (deletes last).
/// A route added to or removed from the API shows up here as a diff.
const OPERATIONS: &[(&str, &str, &str)] = &[
    ("GET", "/health", "health"),
    ("GET", "/openapi.json", "openapi"),
    ("GET", "/api/me", "me"),
    ("POST", "/api/keys", "create_key"),
    ("GET", "/api/keys", "list_keys"),
    ("POST", "/api/admin/templates", "create_template"),
    ("GET", "/api/templates", "list_templates"),
    ("POST", "/api/servers", "create_server"),
    ("GET", "/api/servers", "list_servers"),
    ("GET", "/api/servers/{id}", "get_server"),
    ("POST", "/api/servers/{id}/backup", "backup_server"),
    ("GET", "/api/servers/{id}/backups", "list_backups"),
    ("POST", "/api/servers/{id}/hibernate", "hibernate_server"),
    ("POST", "/api/servers/{id}/restore", "restore_server"),
    ("POST", "/api/servers/{id}/wake", "wake_server"),
    ("GET", "/api/servers/{id}/logs", "server_logs"),
    ("POST", "/api/servers/{id}/console", "server_console"),
    ("GET", "/api/servers/{id}/stats", "server_stats"),
    ("POST", "/api/admin/credits", "grant_credits"),
    ("POST", "/api/webhooks/payments", "payment_webhook"),
    ("GET", "/api/billing", "get_billing"),
    ("DELETE", "/api/servers/{id}", "delete_server"),
    ("DELETE", "/api/keys/{id}", "revoke_key"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
const WEBHOOK_SECRET: &str = "whsec_openapi_test";

/// One documented operation.
struct Op {
    method: String,
    path: String,
    id: String,
    spec: Value,
}

impl Op {
    fn changes_state(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
    fn has_caller(&self) -> bool {
        self.spec["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    }
    fn statuses(&self) -> BTreeSet<String> {
        self.spec["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// The document, with a checker for bodies against its schemas.
struct Doc {
    spec: Value,
}

impl Doc {
    fn new() -> Doc {
        Doc {
            spec: serde_json::to_value(openapi()).expect("the document serializes"),
        }
    }

    fn operations(&self) -> Vec<Op> {
        let mut out = Vec::new();
        for (path, item) in self.spec["paths"].as_object().expect("paths") {
            for method in METHODS {
                if let Some(op) = item.get(*method) {
                    out.push(Op {
                        method: method.to_uppercase(),
                        path: path.clone(),
                        id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                        spec: op.clone(),
                    });
                }
            }
        }
        out
    }

    fn operation(&self, id: &str) -> Op {
        self.operations()
            .into_iter()
            .find(|o| o.id == id)
            .unwrap_or_else(|| panic!("no operation {id}"))
    }

    /// What a local `$ref` points at.
    fn pointer(&self, reference: &str) -> Result<&Value, String> {
        reference
            .strip_prefix('#')
            .and_then(|p| self.spec.pointer(p))
            .ok_or_else(|| format!("unresolved $ref {reference}"))
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> Result<&'a Value, String> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => self.resolve(self.pointer(r)?),
            None => Ok(schema),
        }
    }

    /// The property names an object schema documents (through `allOf`).
    fn properties(&self, schema: &Value) -> Result<BTreeSet<String>, String> {
        let schema = self.resolve(schema)?;
        let mut names: BTreeSet<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        for part in schema["allOf"].as_array().into_iter().flatten() {
            names.extend(self.properties(part)?);
        }
        Ok(names)
    }

    /// Checks `value` against `schema`; with `strict`, an object may hold
    /// only documented fields.
    fn check(&self, schema: &Value, value: &Value, at: &str, strict: bool) -> Result<(), String> {
        let schema = self.resolve(schema)?;
        let known = [
            "type",
            "format",
            "description",
            "example",
            "examples",
            "default",
            "title",
            "minimum",
            "enum",
            "properties",
            "additionalProperties",
            "propertyNames",
            "required",
            "items",
            "allOf",
            "oneOf",
            "anyOf",
        ];
        if let Some(key) = schema
            .as_object()
            .and_then(|o| o.keys().find(|k| !known.contains(&k.as_str())))
        {
            return Err(format!("{at}: the checker does not know `{key}`"));
        }
        if let Some(types) = schema.get("type") {
            let types: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => return Err(format!("{at}: bad `type` {types}")),
            };
            let fits = |t: &str| match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "null" => value.is_null(),
                _ => false,
            };
            if !types.iter().any(|t| fits(t)) {
                return Err(format!("{at}: {value} is not {types:?}"));
            }
        }
        if let Some(options) = schema["enum"].as_array() {
            if !options.contains(value) {
                return Err(format!("{at}: {value} is not one of {options:?}"));
            }
        }
        if let (Some(min), Some(v)) = (schema["minimum"].as_f64(), value.as_f64()) {
            if v < min {
                return Err(format!("{at}: {v} is below {min}"));
            }
        }
        if let Some(object) = value.as_object() {
            for field in schema["required"].as_array().into_iter().flatten() {
                let field = field.as_str().unwrap_or_default();
                if !object.contains_key(field) {
                    return Err(format!("{at}: the required field `{field}` is missing"));
                }
            }
            if let Some(props) = schema["properties"].as_object() {
                for (name, sub) in props {
                    if let Some(v) = object.get(name) {
                        self.check(sub, v, &format!("{at}.{name}"), true)?;
                    }
                }
            }
            if let Some(names) = schema.get("propertyNames") {
                for name in object.keys() {
                    self.check(
                        names,
                        &Value::from(name.as_str()),
                        &format!("{at} key {name}"),
                        true,
                    )?;
                }
            }
            match schema.get("additionalProperties") {
                // A map: every value not named in `properties` fits the schema.
                Some(extra @ Value::Object(_)) => {
                    for (name, v) in object {
                        if schema["properties"].get(name).is_none() {
                            self.check(extra, v, &format!("{at}.{name}"), true)?;
                        }
                    }
                }
                Some(Value::Bool(false)) => {
                    if let Some(name) = object
                        .keys()
                        .find(|k| schema["properties"].get(*k).is_none())
                    {
                        return Err(format!("{at}: the field `{name}` is not allowed"));
                    }
                }
                _ => {}
            }
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            for (i, v) in array.iter().enumerate() {
                self.check(items, v, &format!("{at}[{i}]"), true)?;
            }
        }
        for part in schema["allOf"].as_array().into_iter().flatten() {
            self.check(part, value, at, false)?;
        }
        if let Some(parts) = schema["oneOf"].as_array() {
            let fits = parts
                .iter()
                .filter(|p| self.check(p, value, at, strict).is_ok())
                .count();
            if fits != 1 {
                return Err(format!("{at}: {value} fits {fits} of oneOf"));
            }
        }
        if let Some(parts) = schema["anyOf"].as_array() {
            if !parts
                .iter()
                .any(|p| self.check(p, value, at, strict).is_ok())
            {
                return Err(format!("{at}: {value} fits nothing of anyOf"));
            }
        }
        if strict
            && value.is_object()
            && (schema.get("properties").is_some() || schema.get("allOf").is_some())
        {
            let documented = self.properties(schema)?;
            if let Some(extra) = value
                .as_object()
                .and_then(|o| o.keys().find(|k| !documented.contains(*k)))
            {
                return Err(format!("{at}: the field `{extra}` is not documented"));
            }
        }
        Ok(())
    }

    /// Checks a reply against what `op` documents for its status.
    fn check_reply(&self, op: &Op, reply: &Reply) -> Result<(), String> {
        let at = format!("{} {} -> {}", op.method, op.path, reply.status.as_u16());
        let response = op.spec["responses"]
            .get(reply.status.as_str())
            .ok_or_else(|| {
                format!(
                    "{at}: status not documented (documented: {:?}); body {}",
                    op.statuses(),
                    String::from_utf8_lossy(&reply.body)
                )
            })?;
        let response = self.resolve(response)?;
        let Some(content) = response["content"].as_object() else {
            return if reply.body.is_empty() {
                Ok(())
            } else {
                Err(format!("{at}: a body where none is documented"))
            };
        };
        let media = reply
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        let documented = content.get(media).ok_or_else(|| {
            format!(
                "{at}: content type {media:?}, documented {:?}",
                content.keys().collect::<Vec<_>>()
            )
        })?;
        let value = if media == "application/json" {
            serde_json::from_slice(&reply.body)
                .map_err(|e| format!("{at}: the body is not JSON: {e}"))?
        } else {
            Value::String(String::from_utf8_lossy(&reply.body).into_owned())
        };
        self.check(&documented["schema"], &value, &at, true)
    }
}

/// A reply from the router.
struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    /// Whether this is the router's fallback rather than a handler.
    fn is_fallback(&self) -> bool {
        self.status == StatusCode::METHOD_NOT_ALLOWED
            || (self.status == StatusCode::NOT_FOUND && self.json()["error"] == "no such route")
    }
}

async fn send(
    router: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        body: body.to_vec(),
    }
}

/// `path` with its `{name}` parameters filled from `values`.
fn fill(path: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = path.to_owned();
    while let Some(start) = out.find('{') {
        let end = out[start..].find('}').expect("a closed parameter") + start;
        let name = &out[start + 1..end];
        let value = values
            .get(name)
            .unwrap_or_else(|| panic!("no value for {{{name}}} in {path}"));
        out.replace_range(start..=end, value);
    }
    out
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_well_formed_and_lists_every_operation() {
    let doc = Doc::new();
    let spec = &doc.spec;
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "openapi {}",
        spec["openapi"]
    );
    assert_eq!(spec["info"]["title"], "GSP platform API");
    assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(spec["info"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("gsp_ak_")));

    let mut all = Vec::new();
    refs(spec, &mut all);
    assert!(
        all.len() > 20,
        "the document uses references: {}",
        all.len()
    );
    for r in &all {
        assert!(
            r.starts_with("#/components/"),
            "{r} is not a local component"
        );
        doc.pointer(r).unwrap();
    }

    let listed: BTreeSet<(String, String, String)> = OPERATIONS
        .iter()
        .map(|(m, p, id)| (m.to_string(), p.to_string(), id.to_string()))
        .collect();
    let documented: BTreeSet<(String, String, String)> = doc
        .operations()
        .into_iter()
        .map(|o| (o.method, o.path, o.id))
        .collect();
    assert_eq!(
        documented.difference(&listed).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new(),
        "documented but not in OPERATIONS"
    );
    assert_eq!(
        listed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new(),
        "in OPERATIONS but not documented"
    );
    assert_eq!(listed.len(), OPERATIONS.len(), "OPERATIONS repeats itself");

    let tags: BTreeSet<&str> = spec["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let schemes = spec["components"]["securitySchemes"].as_object().unwrap();
    let mut ids = BTreeSet::new();
    for op in doc.operations() {
        let at = format!("{} {}", op.method, op.path);
        assert!(
            ids.insert(op.id.clone()),
            "{at}: operationId {} twice",
            op.id
        );
        assert!(op.spec["summary"].is_string(), "{at}: no summary");
        for tag in op.spec["tags"].as_array().expect("tags") {
            assert!(tags.contains(tag.as_str().unwrap()), "{at}: tag {tag}");
        }
        // Path parameters and the template agree.
        let in_template: BTreeSet<String> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        let declared: BTreeSet<String> = op.spec["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{at}: {p}"))
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(in_template, declared, "{at}: path parameters");
        // A success, and JSON errors in the one error shape.
        let statuses = op.statuses();
        assert!(
            statuses.iter().any(|s| s.starts_with('2')),
            "{at}: no success"
        );
        for status in statuses.iter().filter(|s| !s.starts_with('2')) {
            let response = doc.resolve(&op.spec["responses"][status]).unwrap();
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{at} {status}"
            );
        }
        // Who may call: an API key, or a session (with its CSRF token on
        // changes); 401 and 429 wherever a caller is needed.
        if op.has_caller() {
            let requirements: BTreeSet<BTreeSet<&str>> = op.spec["security"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_object().unwrap().keys().map(String::as_str).collect())
                .collect();
            let session: BTreeSet<&str> = if op.changes_state() {
                ["session", "csrf"].into()
            } else {
                ["session"].into()
            };
            assert_eq!(
                requirements,
                [["api_key"].into(), session].into(),
                "{at}: security"
            );
            for status in ["401", "429", "500"] {
                assert!(statuses.contains(status), "{at}: no {status}");
            }
            if op.changes_state() {
                assert!(statuses.contains("403"), "{at}: no 403 for CSRF");
            }
        }
        for requirement in op.spec["security"].as_array().into_iter().flatten() {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(scheme), "{at}: scheme {scheme}");
            }
        }
    }
    let open: BTreeSet<String> = doc
        .operations()
        .into_iter()
        .filter(|o| !o.has_caller())
        .map(|o| o.id)
        .collect();
    assert_eq!(
        open,
        ["health", "openapi", "payment_webhook"]
            .map(String::from)
            .into(),
        "only these need no caller"
    );
}

/// Every operation reaches its handler and answers a documented status,
/// without a caller and with a bad id; undocumented methods and paths are
/// not served.
async fn the_router_serves_what_the_document_says(t: TestDb) {
    let db = t.db().clone();
    let doc = Doc::new();
    let api = router(AppState::new(db.clone()));

    // The served document is the document.
    let reply = send(&api, "GET", "/openapi.json", &[], Vec::new()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type, "application/json");
    assert_eq!(reply.json(), doc.spec);

    // No caller: 401 wherever one is needed; the rest answer for
    // themselves (the webhook, unconfigured here, is a JSON 404).
    let ids = BTreeMap::from([("id", "1".to_owned())]);
    for op in doc.operations() {
        let path = fill(&op.path, &ids);
        let reply = send(&api, &op.method, &path, &[], Vec::new()).await;
        let at = format!("{} {path}", op.method);
        assert!(!reply.is_fallback(), "{at} did not reach a handler");
        doc.check_reply(&op, &reply).unwrap();
        if op.has_caller() {
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{at}");
        }
    }
    let webhook = send(&api, "POST", "/api/webhooks/payments", &[], Vec::new()).await;
    assert_eq!(
        (webhook.status, webhook.json()["error"].clone()),
        (StatusCode::NOT_FOUND, json!("payments are not configured"))
    );

    // A bad id is a documented JSON 400.
    let admin = Users::new(db.clone())
        .create("root@x.com", Some("correct horse"), Role::Admin)
        .await
        .unwrap();
    let (_, key) = ApiKeys::new(db.clone())
        .create(admin.id, "t")
        .await
        .unwrap();
    let bearer = [("authorization", format!("Bearer {key}"))];
    let bad = BTreeMap::from([("id", "x1".to_owned())]);
    let mut with_ids = 0;
    for op in doc.operations().iter().filter(|o| o.path.contains("{id}")) {
        let reply = send(&api, &op.method, &fill(&op.path, &bad), &bearer, Vec::new()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{} {}",
            op.method,
            op.path
        );
        doc.check_reply(op, &reply).unwrap();
        with_ids += 1;
    }
    assert_eq!(with_ids, 11);

    // Methods a path does not document are not served (HEAD rides on GET).
    let mut paths: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for op in doc.operations() {
        paths.entry(op.path).or_default().insert(op.method);
    }
    for (path, methods) in &paths {
        let path = fill(path, &ids);
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let documented =
                methods.contains(method) || (method == "HEAD" && methods.contains("GET"));
            if documented {
                continue;
            }
            let reply = send(&api, method, &path, &[], Vec::new()).await;
            assert_eq!(
                reply.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is served but not documented"
            );
        }
    }
    // Nor are paths it does not document.
    for path in [
        "/",
        "/api",
        "/api/server",
        "/api/servers/1/explode",
        "/api/keys/1/2",
        "/openapi.yaml",
    ] {
        let reply = send(&api, "GET", path, &bearer, Vec::new()).await;
        assert!(reply.is_fallback(), "GET {path}: {}", reply.status);
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "GET {path}");
    }
}

/// Called properly, every operation succeeds, and every body matches its
/// schema; by cookie, changes need the CSRF token, as documented.
async fn every_operation_answers_as_documented(t: TestDb) {
    let db = t.db().clone();
    let doc = Doc::new();
    let node = Arc::new(Recorder::default());
    let backups = tempfile::tempdir().unwrap();
    let api = router(
        AppState::new(db.clone())
            .with_orchestrator(node.clone())
            .with_backups(gsp_control::backup::BackupStore::local(backups.path()).unwrap())
            .with_webhook_secret(Some(WEBHOOK_SECRET.into())),
    );
    let users = Users::new(db.clone());
    let admin = users
        .create("root@x.com", Some("correct horse"), Role::Admin)
        .await
        .unwrap();
    let (_, key) = ApiKeys::new(db.clone())
        .create(admin.id, "t")
        .await
        .unwrap();
    let bearer = ("authorization", format!("Bearer {key}"));
    // Servers start only with their first hour paid.
    gsp_control::ledger::Ledger::new(db.clone())
        .grant("0", "setup", &admin.id.to_string(), Millis(10_000), "setup")
        .await
        .unwrap();

    let mut ids: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    let mut template_id = 0;
    let mut seen: BTreeMap<&str, Value> = BTreeMap::new();
    for (method, path, id) in OPERATIONS {
        let op = doc.operation(id);
        assert_eq!((op.method.as_str(), op.path.as_str()), (*method, *path));
        let mut headers = vec![bearer.clone()];
        let body: Vec<u8> = match *id {
            "create_key" => json!({"name": "spare"}).to_string().into(),
            "create_template" => json!({
                "name": "gsp-world", "runtime": "command", "launch": "gsp world",
                "ports": [{"name": "telnet", "protocol": "tcp"}],
                "cpu_millis": 1000, "memory_mib": 256, "price_per_hour": 1500
            })
            .to_string()
            .into(),
            "create_server" => json!({"template_id": template_id, "name": "Ada's town"})
                .to_string()
                .into(),
            "restore_server" => json!({"backup": seen["list_backups"][0]["name"]})
                .to_string()
                .into(),
            "server_console" => json!({"line": "say hello"}).to_string().into(),
            "grant_credits" => json!({
                "user_id": admin.id, "amount_millis": 5000, "request_id": "openapi-1",
                "memo": "welcome"
            })
            .to_string()
            .into(),
            "payment_webhook" => {
                let event = json!({"id": "evt_1", "type": "payment_intent.succeeded",
                    "data": {"object": {"id": "pi_1", "amount_received": 250,
                        "metadata": {"user_id": admin.id.to_string()}}}})
                .to_string();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let signature = gsp_control::payments::sign(WEBHOOK_SECRET, now, event.as_bytes());
                headers = vec![("stripe-signature", format!("t={now},v1={signature}"))];
                event.into()
            }
            other => {
                assert!(
                    op.spec.get("requestBody").is_none(),
                    "{other} takes a body: give it a sample here"
                );
                Vec::new()
            }
        };
        if !body.is_empty() {
            headers.push(("content-type", "application/json".into()));
        }
        let prefix = if path.starts_with("/api/keys") {
            "key"
        } else {
            "server"
        };
        let url = fill(path, ids.entry(prefix).or_default());
        let reply = send(&api, method, &url, &headers, body).await;
        let at = format!("{method} {url}");
        assert!(
            reply.status.is_success(),
            "{at}: {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        doc.check_reply(&op, &reply).unwrap();
        let value = reply.json();
        match *id {
            "create_key" => {
                ids.entry("key")
                    .or_default()
                    .insert("id", value["id"].to_string());
            }
            "create_template" => template_id = value["id"].as_i64().unwrap(),
            "create_server" => {
                ids.entry("server")
                    .or_default()
                    .insert("id", value["id"].to_string());
            }
            _ => {}
        }
        seen.insert(id, value);
    }
    // The schema checks above saw real items, not empty lists.
    assert_eq!(seen["list_servers"].as_array().map(Vec::len), Some(1));
    assert_eq!(seen["get_server"]["name"], "Ada's town");
    assert_eq!(seen["server_stats"]["players"], 2);
    let billing = &seen["get_billing"];
    // Setup, the first hour of the server (its wake fell inside that
    // hour: free), the grant and the payment.
    assert_eq!(billing["balance_millis"], 10_000 - 1500 + 5000 + 2500);
    assert_eq!(billing["transactions"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        seen["payment_webhook"],
        json!({"received": true, "duplicate": false})
    );
    assert_eq!(seen["list_backups"].as_array().map(Vec::len), Some(1));
    assert_eq!(seen["restore_server"]["state"], "hibernated");
    assert_eq!(
        node.calls.lock().unwrap().len(),
        9,
        "start, backup, stop, restore, start, logs, console, stats, remove"
    );
    let console = format!("console {} say hello", seen["get_server"]["id"]);
    assert!(node.calls().contains(&console), "{:?}", node.calls());
    let restored = format!("restore {} data of server {0}", seen["get_server"]["id"]);
    assert!(node.calls().contains(&restored), "{:?}", node.calls());

    // By cookie: reads need only the session; changes need its CSRF token
    // too, and say so with a documented 403.
    let ada = users
        .create("ada@x.com", Some("correct horse"), Role::Customer)
        .await
        .unwrap();
    let sessions = Sessions::new(db.clone());
    let token = sessions.start(&ada, None).await.unwrap();
    let csrf = sessions.get(&token).await.unwrap().unwrap().csrf;
    let cookie = ("cookie", format!("gsp_session={token}"));
    let some = BTreeMap::from([("id", "1".to_owned())]);
    for op in doc.operations().iter().filter(|o| o.has_caller()) {
        let url = fill(&op.path, &some);
        let reply = send(
            &api,
            &op.method,
            &url,
            std::slice::from_ref(&cookie),
            Vec::new(),
        )
        .await;
        let at = format!("{} {url} by cookie", op.method);
        doc.check_reply(op, &reply).unwrap();
        if op.changes_state() {
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{at}");
            assert_eq!(reply.json()["error"], "missing or wrong CSRF token", "{at}");
        } else {
            assert!(
                ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&reply.status),
                "{at}: {}",
                reply.status
            );
        }
    }
    let reply = send(
        &api,
        "POST",
        "/api/keys",
        &[
            cookie,
            ("x-csrf-token", csrf),
            ("content-type", "application/json".into()),
        ],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    doc.check_reply(&doc.operation("create_key"), &reply)
        .unwrap();
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn the_router_serves_what_the_document_says(t) {
        the_router_serves_what_the_document_says(t).await;
    }
}

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn every_operation_answers_as_documented(t) {
        every_operation_answers_as_documented(t).await;
    }
}
