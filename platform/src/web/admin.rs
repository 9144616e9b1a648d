//! The admin pages: users (with credit grants), templates and nodes. Every
//! handler here starts with [`Viewer::require_admin`].

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gsp_store::token;
use maud::{html, Markup};
use serde::Deserialize;

use super::guard::Failure;
use super::page::{credits, csrf_field, layout, notice, when, Done};
use super::viewer::Viewer;
use crate::api::billing::wallet;
use crate::api::{ApiError, AppState};
use gsp_control::auth::Role;
use gsp_control::ledger::Millis;
use gsp_control::servers::{NewTemplate, Port};

/// The notices after a change (`?ok=`).
const NOTICES: &[(&str, &str)] = &[
    ("user", "User created."),
    ("granted", "Credits granted."),
    ("template", "Template created."),
    ("shipped", "Shipped template added."),
];

/// Credits as people type them (`12`, `12.5`, `0.125`) to milli-credits.
pub(crate) fn parse_credits(text: &str) -> Option<Millis> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 3
        || !whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = format!("{frac:0<3}").parse().ok()?;
    whole.checked_mul(1000)?.checked_add(frac).map(Millis)
}

async fn users_page(
    state: &AppState,
    viewer: &Viewer,
    ok: Option<&str>,
    error: Option<&str>,
) -> Result<Markup, Failure> {
    let users = state.users.list().await.map_err(ApiError::from)?;
    let mut balances = Vec::with_capacity(users.len());
    for u in &users {
        balances.push(
            state
                .ledger
                .balance(&wallet(u.id)?)
                .await
                .map_err(ApiError::from)?,
        );
    }
    // A new id per form shown: submitting it twice grants once.
    let request_id = token::generate_with("web_").map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = html! {
        div.page-head { h1 { "Users" } }
        (notice(ok, true))
        (notice(error, false))
        section.card {
            table.stack #users {
                thead { tr { th { "Email" } th { "Role" } th { "Two-factor" } th.num { "Balance" } } }
                tbody {
                    @for (u, balance) in users.iter().zip(&balances) {
                        tr {
                            td data-label="Email" { (u.email) }
                            td data-label="Role" { span.badge.(u.role.as_str()) { (u.role.as_str()) } }
                            td data-label="Two-factor" { @if u.totp_enabled { "on" } @else { span.muted { "off" } } }
                            td.num data-label="Balance" { a href={ "/billing?user=" (u.id) } { (credits(*balance)) } }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Grant credits" }
            form.row method="post" action="/admin/credits" {
                (csrf_field(viewer))
                input type="hidden" name="request_id" value=(request_id);
                label { "User"
                    select name="user_id" { @for u in &users { option value=(u.id) { (u.email) } } }
                }
                label { "Credits" input type="text" name="amount" inputmode="decimal" required placeholder="10"; }
                label { "Note" input type="text" name="memo" maxlength="200" placeholder="welcome bonus"; }
                button type="submit" { "Grant" }
            }
        }
        section.card {
            h2 { "New user" }
            form.row method="post" action="/admin/users" {
                (csrf_field(viewer))
                label { "Email" input type="email" name="email" required; }
                label { "Password" input type="password" name="password" minlength="8" autocomplete="new-password" required; }
                label.check { input type="checkbox" name="admin" value="1"; "Admin" }
                button type="submit" { "Create user" }
            }
        }
    };
    Ok(layout("Users", Some(viewer), body))
}

/// `GET /admin/users`.
pub(super) async fn users(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(done): Query<Done>,
) -> Result<Markup, Failure> {
    viewer.require_admin()?;
    users_page(&state, &viewer, done.message(NOTICES), None).await
}

/// `POST /admin/users` fields.
#[derive(Debug, Deserialize)]
pub(super) struct NewUser {
    csrf: String,
    email: String,
    password: String,
    admin: Option<String>,
}

/// `POST /admin/users`.
pub(super) async fn create_user(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<NewUser>, FormRejection>,
) -> Result<Response, Failure> {
    viewer.require_admin()?;
    let Form(f) =
        form.map_err(|_| Failure::new(StatusCode::BAD_REQUEST, "Give an email and a password."))?;
    viewer.check_csrf(&f.csrf)?;
    let role = if f.admin.is_some() {
        Role::Admin
    } else {
        Role::Customer
    };
    match state.users.create(&f.email, Some(&f.password), role).await {
        Ok(_) => Ok(Redirect::to("/admin/users?ok=user").into_response()),
        Err(e) => {
            let e = ApiError::from(e);
            if !e.status().is_client_error() {
                return Err(e.into());
            }
            let page = users_page(&state, &viewer, None, Some(&e.to_string())).await?;
            Ok((e.status(), page).into_response())
        }
    }
}

/// `POST /admin/credits` fields.
#[derive(Debug, Deserialize)]
pub(super) struct Grant {
    csrf: String,
    request_id: String,
    user_id: i64,
    amount: String,
    #[serde(default)]
    memo: String,
}

/// `POST /admin/credits`: a grant, once per form shown.
pub(super) async fn grant(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<Grant>, FormRejection>,
) -> Result<Response, Failure> {
    viewer.require_admin()?;
    let Form(f) =
        form.map_err(|_| Failure::new(StatusCode::BAD_REQUEST, "Pick a user and an amount."))?;
    viewer.check_csrf(&f.csrf)?;
    let problem = match parse_credits(&f.amount).filter(|m| m.0 > 0) {
        None => Some(format!(
            "{:?} is not an amount of credits (up to three decimals).",
            f.amount
        )),
        Some(_)
            if state
                .users
                .get(f.user_id)
                .await
                .map_err(ApiError::from)?
                .is_none() =>
        {
            Some("There is no such user.".into())
        }
        Some(_) => None,
    };
    if let Some(message) = problem {
        let page = users_page(&state, &viewer, None, Some(&message)).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let amount = parse_credits(&f.amount).unwrap_or(Millis(0));
    state
        .ledger
        .grant(
            &viewer.user.id.to_string(),
            &f.request_id,
            &f.user_id.to_string(),
            amount,
            f.memo.trim(),
        )
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to("/admin/users?ok=granted").into_response())
}

async fn templates_page(
    state: &AppState,
    viewer: &Viewer,
    ok: Option<&str>,
    error: Option<&str>,
) -> Result<Markup, Failure> {
    let templates = state.servers.templates().await.map_err(ApiError::from)?;
    let body = html! {
        div.page-head { h1 { "Templates" } }
        (notice(ok, true))
        (notice(error, false))
        section.card {
            @if templates.is_empty() {
                p.empty { "No templates yet: customers cannot create servers until there is one." }
            } @else {
                table.stack #templates {
                    thead { tr { th { "Name" } th { "Runs" } th { "Ports" } th { "Resources" } th.num { "Price / hour" } th.num { "Idle" } } }
                    tbody {
                        @for t in &templates {
                            tr {
                                td data-label="Name" { (t.name) }
                                td data-label="Runs" { span.muted { (t.runtime) " " } code { (t.launch) } }
                                td data-label="Ports" { @for p in &t.ports { span.badge { (p.name) "/" (p.protocol) } " " } }
                                td data-label="Resources" { (t.cpu_millis as f64 / 1000.0) " CPU, " (t.memory_mib) " MiB" }
                                td.num data-label="Price / hour" { (credits(Millis(t.price_per_hour))) }
                                td.num data-label="Idle" { (t.idle_minutes) " min" }
                            }
                        }
                    }
                }
            }
        }
        section.card #shipped {
            h2 { "Shipped templates" }
            p.muted { "The games GSP knows how to run: how each is known ready, counts its players and stops. Add one, then adjust it if you need to." }
            table.stack {
                tbody {
                    @for t in gsp_control::servers::shipped() {
                        tr {
                            td data-label="Name" { (t.name) }
                            td data-label="Runs" { span.muted { (t.runtime) " " } code { (t.launch) } }
                            td data-label="Ports" { @for p in &t.ports { span.badge { (p.name) "/" (p.protocol) } " " } }
                            td {
                                @if templates.iter().any(|have| have.name == t.name) {
                                    span.muted { "added" }
                                } @else {
                                    form.inline method="post" action="/admin/templates/shipped" {
                                        (csrf_field(viewer))
                                        input type="hidden" name="name" value=(t.name);
                                        button.secondary type="submit" { "Add" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "New template" }
            form.stacked method="post" action="/admin/templates" {
                (csrf_field(viewer))
                div.row {
                    label { "Name" input type="text" name="name" required placeholder="gsp-world"; }
                    label { "Runtime"
                        select name="runtime" {
                            option value="command" { "command (child process)" }
                            option value="image" { "image (Docker)" }
                        }
                    }
                }
                label { "Command line or image" input type="text" name="launch" required placeholder="gsp world"; }
                label { "Ports (name/protocol, comma separated)" input type="text" name="ports" placeholder="telnet/tcp, quic/udp"; }
                div.row {
                    label { "CPU (cores)" input type="text" name="cpu" inputmode="decimal" value="1"; }
                    label { "Memory (MiB)" input type="number" name="memory_mib" value="512" min="16"; }
                    label { "Price per hour (credits)" input type="text" name="price" inputmode="decimal" required placeholder="1.5"; }
                    label { "Hibernate after (minutes idle)" input type="number" name="idle_minutes" value="15" min="1"; }
                }
                div { button type="submit" { "Create template" } }
            }
        }
    };
    Ok(layout("Templates", Some(viewer), body))
}

/// `GET /admin/templates`.
pub(super) async fn templates(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(done): Query<Done>,
) -> Result<Markup, Failure> {
    viewer.require_admin()?;
    templates_page(&state, &viewer, done.message(NOTICES), None).await
}

/// `POST /admin/templates` fields.
#[derive(Debug, Deserialize)]
pub(super) struct TemplateForm {
    csrf: String,
    name: String,
    runtime: String,
    launch: String,
    #[serde(default)]
    ports: String,
    cpu: String,
    memory_mib: i64,
    price: String,
    idle_minutes: i64,
}

/// `POST /admin/templates/shipped` fields.
#[derive(Debug, Deserialize)]
pub(super) struct ShippedForm {
    csrf: String,
    name: String,
}

/// `POST /admin/templates/shipped`: adds the shipped template `name`.
pub(super) async fn add_shipped(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<ShippedForm>, FormRejection>,
) -> Result<Response, Failure> {
    viewer.require_admin()?;
    let Form(f) = form.map_err(|e| Failure::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    viewer.check_csrf(&f.csrf)?;
    let result = match gsp_control::servers::shipped()
        .into_iter()
        .find(|t| t.name == f.name)
    {
        Some(t) => state
            .servers
            .create_template(&t)
            .await
            .map_err(ApiError::from),
        None => Err(ApiError::BadRequest(format!(
            "there is no shipped template {:?}",
            f.name
        ))),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/admin/templates?ok=shipped").into_response()),
        Err(e) if e.status().is_client_error() => {
            let page = templates_page(&state, &viewer, None, Some(&e.to_string())).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `name/protocol, ...` to ports.
pub(crate) fn parse_ports(text: &str) -> Result<Vec<Port>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('/') {
            Some((name, protocol)) if !name.trim().is_empty() => Ok(Port {
                name: name.trim().to_string(),
                protocol: protocol.trim().to_lowercase(),
                port: None,
            }),
            _ => Err(format!("{p:?} is not name/protocol, like telnet/tcp")),
        })
        .collect()
}

/// `POST /admin/templates`.
pub(super) async fn create_template(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<TemplateForm>, FormRejection>,
) -> Result<Response, Failure> {
    viewer.require_admin()?;
    let Form(f) = form.map_err(|e| Failure::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    viewer.check_csrf(&f.csrf)?;
    let parsed = (|| {
        Ok::<_, String>(NewTemplate {
            name: f.name.clone(),
            runtime: f.runtime.clone(),
            launch: f.launch.clone(),
            ports: parse_ports(&f.ports)?,
            cpu_millis: parse_credits(&f.cpu)
                .ok_or_else(|| format!("{:?} is not a number of cores", f.cpu))?
                .0,
            memory_mib: f.memory_mib,
            price_per_hour: parse_credits(&f.price)
                .ok_or_else(|| format!("{:?} is not an amount of credits", f.price))?
                .0,
            idle_minutes: f.idle_minutes,
            idle_seconds: None,
            game: Default::default(),
        })
    })();
    let result = match parsed {
        Ok(t) => state
            .servers
            .create_template(&t)
            .await
            .map_err(ApiError::from),
        Err(message) => Err(ApiError::BadRequest(message)),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/admin/templates?ok=template").into_response()),
        Err(e) if e.status().is_client_error() => {
            let page = templates_page(&state, &viewer, None, Some(&e.to_string())).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A node token just made, shown once on the page that made it.
struct NewNode<'a> {
    name: &'a str,
    token: &'a str,
    platform_url: &'a str,
}

async fn nodes_page(
    state: &AppState,
    viewer: &Viewer,
    created: Option<NewNode<'_>>,
    error: Option<&str>,
) -> Result<Markup, Failure> {
    let nodes = match state.hosting.orchestrator() {
        Ok(orchestrator) => Some(orchestrator.nodes().await.map_err(ApiError::from)),
        Err(_) => None,
    };
    let body = html! {
        div.page-head { h1 { "Nodes" } }
        (notice(error, false))
        @if let Some(n) = &created {
            section.card #new-node {
                h2 { "Node " (n.name) " added" }
                p { "Its token is shown only now: copy it. On the node's machine, run:" }
                pre.mono { "gsp agent --platform " (n.platform_url) " --token " (n.token) }
                p.muted { "Add " code { "--runtime docker" } " to run worlds as containers. Adding a node again under the same name (with "
                    code { "gsp platform node create" } ") gives it a new token." }
            }
        }
        section.card {
            @match &nodes {
                None => p.empty { "No node agent is connected: servers cannot start until one is." },
                Some(Err(e)) => (notice(Some(&e.to_string()), false)),
                Some(Ok(list)) if list.is_empty() => p.empty { "No node yet: add one below, then start its agent." },
                Some(Ok(list)) => table.stack #nodes {
                    thead { tr { th { "Node" } th { "Runtime" } th.num { "Servers" } th.num { "CPU free" } th.num { "Memory free" } th { "Last heard" } } }
                    tbody {
                        @for n in list {
                            tr {
                                td data-label="Node" { (n.name) br; span.muted.mono { (n.address) } }
                                td data-label="Runtime" { (n.runtime) }
                                td.num data-label="Servers" { (n.servers) }
                                td.num data-label="CPU free" { (n.cpu_free_millis as f64 / 1000.0) " / " (n.cpu_total_millis as f64 / 1000.0) }
                                td.num data-label="Memory free" { (n.memory_free_mib) " / " (n.memory_total_mib) " MiB" }
                                td data-label="Last heard" {
                                    @if n.last_seen_ms > 0 { (when(n.last_seen_ms)) } @else { span.muted { "never: start its agent" } }
                                }
                            }
                        }
                    }
                },
            }
        }
        @if state.fleet.is_some() {
            section.card {
                h2 { "Add a node" }
                p.muted { "A node is a machine whose agent (" code { "gsp agent" } ") runs worlds. Adding one makes its token." }
                form.stacked method="post" action="/admin/nodes" {
                    (csrf_field(viewer))
                    label { "Name" input type="text" name="name" required maxlength="64" pattern="[A-Za-z0-9._\\-]+" placeholder="node-2"; }
                    div { button type="submit" { "Add node" } }
                }
            }
        }
    };
    Ok(layout("Nodes", Some(viewer), body))
}

/// `GET /admin/nodes`.
pub(super) async fn nodes(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Markup, Failure> {
    viewer.require_admin()?;
    nodes_page(&state, &viewer, None, None).await
}

/// `POST /admin/nodes` fields.
#[derive(Debug, Deserialize)]
pub(super) struct NodeForm {
    csrf: String,
    name: String,
}

/// The URL the admin reached this page at, for the agent's `--platform`.
fn platform_url(headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    match header("x-forwarded-host").or_else(|| header("host")) {
        Some(host) => format!("{scheme}://{host}"),
        None => "<this platform's URL>".into(),
    }
}

/// `POST /admin/nodes`: makes a node and shows its token, once.
pub(super) async fn create_node(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Form<NodeForm>, FormRejection>,
) -> Result<Response, Failure> {
    viewer.require_admin()?;
    let Form(f) =
        form.map_err(|_| Failure::new(StatusCode::BAD_REQUEST, "Give the node a name."))?;
    viewer.check_csrf(&f.csrf)?;
    let Some(fleet) = &state.fleet else {
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "This platform runs without node agents, so it has no nodes to add.",
        ));
    };
    match fleet.create_node(&f.name).await.map_err(ApiError::from) {
        Ok((node, token)) => {
            tracing::info!(node = %node.name, id = node.id, "node added from the dashboard");
            let url = platform_url(&headers);
            let created = NewNode {
                name: &node.name,
                token: &token,
                platform_url: &url,
            };
            let page = nodes_page(&state, &viewer, Some(created), None).await?;
            // The token is in the page: no cache may keep it.
            Ok((
                StatusCode::CREATED,
                [(header::CACHE_CONTROL, "no-store")],
                page,
            )
                .into_response())
        }
        Err(e) if e.status().is_client_error() => {
            let page = nodes_page(&state, &viewer, None, Some(&e.to_string())).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_parse_as_people_type_them() {
        assert_eq!(parse_credits("12"), Some(Millis(12_000)));
        assert_eq!(parse_credits(" 1.5 "), Some(Millis(1_500)));
        assert_eq!(parse_credits("0.125"), Some(Millis(125)));
        assert_eq!(parse_credits(".5"), Some(Millis(500)));
        for bad in [
            "",
            ".",
            "1.2345",
            "-1",
            "1e3",
            "abc",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert_eq!(parse_credits(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ports_parse_from_one_line() {
        let ports = parse_ports("telnet/tcp, quic/UDP").unwrap();
        assert_eq!(ports, Port::gsp_world());
        assert_eq!(parse_ports("  ").unwrap(), vec![]);
        assert!(parse_ports("telnet").unwrap_err().contains("name/protocol"));
    }
}
