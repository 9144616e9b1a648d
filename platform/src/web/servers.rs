//! The servers pages: the list with the create form, a server's page with
//! its live logs and stats, and the buttons that wake, hibernate and
//! delete it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use futures_util::stream::{self, Stream, StreamExt};
use maud::{html, Markup};
use serde::Deserialize;

use super::guard::Failure;
use super::page::{csrf_field, layout, notice, state_badge, when, Done};
use super::viewer::Viewer;
use crate::api::{ApiError, AppState};
use gsp_control::servers::orchestrator::Stats;
use gsp_control::servers::{Server, ServerState, Template};

/// How often a server's page stream looks for new logs and stats.
const STREAM_EVERY: Duration = Duration::from_secs(1);
/// Log lines shown and followed.
const LOG_LINES: usize = 200;

/// The notices after a change (`?ok=`).
const NOTICES: &[(&str, &str)] = &[
    ("created", "Server created and starting."),
    ("wake", "The server is waking up."),
    (
        "hibernate",
        "The server is hibernating. Its data is kept, and billing has stopped.",
    ),
    ("delete", "Server deleted."),
    ("backup", "Backup taken."),
    ("console", "Sent to the console."),
    (
        "restore",
        "Backup restored. The server sleeps until the next player or a wake.",
    ),
];

/// `GET /`.
pub(super) async fn home(_viewer: Viewer) -> Redirect {
    Redirect::to("/servers")
}

/// `GET /servers`.
pub(super) async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(done): Query<Done>,
) -> Result<Markup, Failure> {
    list_page(&state, &viewer, done.message(NOTICES), None, "").await
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    ok: Option<&str>,
    error: Option<&str>,
    name: &str,
) -> Result<Markup, Failure> {
    let caller = viewer.caller();
    let servers = state
        .servers
        .list(caller.user_id, caller.role)
        .await
        .map_err(ApiError::from)?;
    let templates = state.servers.templates().await.map_err(ApiError::from)?;
    let names: HashMap<i64, &Template> = templates.iter().map(|t| (t.id, t)).collect();
    let body = html! {
        div.page-head { h1 { "Servers" } }
        (notice(ok, true))
        (notice(error, false))
        section.card {
            @if servers.is_empty() {
                p.empty { "No servers yet. Create one below." }
            } @else {
                table.stack #servers {
                    thead { tr {
                        th { "Name" } th { "Game" } th { "State" } th { "Created" }
                        @if viewer.is_admin() { th { "Owner" } }
                    } }
                    tbody {
                        @for s in &servers {
                            tr data-server=(s.id) {
                                td data-label="Name" { a href={ "/servers/" (s.id) } { (s.name) } }
                                td data-label="Game" { (names.get(&s.template_id).map_or("—", |t| t.name.as_str())) }
                                td data-label="State" { (state_badge(s.state)) }
                                td data-label="Created" { (when(s.created_at)) }
                                @if viewer.is_admin() { td data-label="Owner" { "user " (s.owner_id) } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "New server" }
            @if templates.is_empty() {
                p.muted { "There are no games to run yet. An admin adds them under Templates." }
            } @else {
                form.row method="post" action="/servers" {
                    (csrf_field(viewer))
                    label { "Name"
                        input type="text" name="name" value=(name) maxlength="64" required placeholder="My world";
                    }
                    label { "Game"
                        select name="template_id" {
                            @for t in &templates {
                                option value=(t.id) { (t.name) " — " (super::page::credits(gsp_control::ledger::Millis(t.price_per_hour))) " / hour" }
                            }
                        }
                    }
                    button type="submit" { "Create server" }
                }
                p.muted { "The first hour is charged when the server starts; each started hour after that while it runs. Hibernated servers cost nothing." }
            }
        }
    };
    Ok(layout("Servers", Some(viewer), body))
}

/// `POST /servers` fields.
#[derive(Debug, Deserialize)]
pub(super) struct CreateForm {
    csrf: String,
    name: String,
    template_id: i64,
}

/// `POST /servers`.
pub(super) async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    form: Result<Form<CreateForm>, FormRejection>,
) -> Result<Response, Failure> {
    let Ok(Form(f)) = form else {
        let page = list_page(
            &state,
            &viewer,
            None,
            Some("Give the server a name and pick a game."),
            "",
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    viewer.check_csrf(&f.csrf)?;
    match state
        .hosting
        .create(viewer.caller(), f.template_id, &f.name)
        .await
        .map_err(ApiError::from)
    {
        Ok(server) => {
            Ok(Redirect::to(&format!("/servers/{}?ok=created", server.id)).into_response())
        }
        Err(e) if e.status().is_client_error() || e.status() == StatusCode::BAD_GATEWAY => {
            let page = list_page(&state, &viewer, None, Some(&e.to_string()), &f.name).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /servers/{id}`.
pub(super) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Result<Markup, Failure> {
    let server = state
        .hosting
        .visible(viewer.caller(), id)
        .await
        .map_err(ApiError::from)?;
    server_page(&state, &viewer, &server, done.message(NOTICES), None).await
}

async fn server_page(
    state: &AppState,
    viewer: &Viewer,
    server: &Server,
    ok: Option<&str>,
    error: Option<&str>,
) -> Result<Markup, Failure> {
    let template = state
        .servers
        .template(server.template_id)
        .await
        .map_err(ApiError::from)?;
    let history = state
        .servers
        .history(server.id)
        .await
        .map_err(ApiError::from)?;
    // A snapshot for the first paint (and for browsers without scripts);
    // the stream keeps it current.
    let (stats, logs) = match state.hosting.orchestrator() {
        Ok(a) => (
            a.stats(server.id).await.ok(),
            a.logs(server.id, LOG_LINES).await.unwrap_or_default(),
        ),
        Err(_) => (None, Vec::new()),
    };
    let stats = stats.unwrap_or_default();
    let backups = crate::api::backups::listed(state, server.id).await;
    let body = html! {
        div.page-head data-events={ "/servers/" (server.id) "/events" } {
            h1 { (server.name) }
            (state_badge(server.state))
            div.actions.buttons {
                @if server.state == ServerState::Hibernated {
                    (action_button(viewer, server.id, "wake", "Wake", ""))
                }
                @if server.state == ServerState::Crashed {
                    (action_button(viewer, server.id, "wake", "Start again", ""))
                }
                @if server.state == ServerState::Running {
                    (action_button(viewer, server.id, "hibernate", "Hibernate", "secondary"))
                }
                (action_button(viewer, server.id, "delete", "Delete", "danger"))
            }
        }
        (notice(ok, true))
        (notice(error, false))
        @if let Some(exit) = &server.last_exit {
            section.card #last-exit data-exit=(exit.outcome) {
                h2 { "Last exit" }
                p {
                    @match exit.outcome.as_str() {
                        "crashed" => { "Crashed at " (when(exit.at_ms)) ": " strong data-exit-status { (exit.status) } ". It failed too often to be restarted; players cannot wake it until you start it again." }
                        "restarting" => { "Exited at " (when(exit.at_ms)) ": " strong data-exit-status { (exit.status) } ". Its node restarted it." }
                        _ => { "Exited on its own at " (when(exit.at_ms)) ": " strong data-exit-status { (exit.status) } "." }
                    }
                }
                pre.logs data-exit-lines {
                    @for line in &exit.last_lines { (line) "\n" }
                }
            }
        }
        section.card {
            div.grid {
                (stat("Players", "players", &stats.players.to_string()))
                (stat("CPU", "cpu_percent", &format!("{:.1} %", stats.cpu_percent)))
                (stat("Memory", "memory_mib", &format!("{:.0} MiB", stats.memory_mib)))
                (stat("Process", "running", if stats.running { "yes" } else { "no" }))
            }
        }
        section.card {
            div.page-head {
                h2 { "Logs" }
                span.live data-live { "live" }
            }
            pre.logs data-logs {
                @for line in &logs { (line) "\n" }
            }
            @if server.state == ServerState::Running && server.owner_id == viewer.caller().user_id {
                form.inline #console method="post" action={ "/servers/" (server.id) "/console" } {
                    (csrf_field(viewer))
                    input type="text" name="line" required maxlength="1000" placeholder="A console command (say hello)" aria-label="Console";
                    button.secondary type="submit" { "Send" }
                }
            }
        }
        section.card {
            h2 { "Details" }
            table.stack {
                tbody {
                    tr { td data-label="Game" { "Game" } td { (template.as_ref().map_or("—", |t| t.name.as_str())) } }
                    @for (name, addr) in &server.endpoints {
                        tr { td data-label="Connect" { "Connect (" (name) ")" } td.mono { (addr) } }
                    }
                    @if let Some(t) = &template {
                        tr { td data-label="Price" { "Price" } td { (super::page::credits(gsp_control::ledger::Millis(t.price_per_hour))) " per started hour" } }
                        tr { td data-label="Idle" { "Hibernates after" } td { (idle_text(t.idle_seconds)) " without players" } }
                    }
                    tr { td data-label="Created" { "Created" } td { (when(server.created_at)) } }
                    tr { td data-label="Id" { "Id" } td.mono { (server.id) } }
                }
            }
            h2 { "History" }
            table.stack {
                thead { tr { th { "When" } th { "State" } th { "By" } } }
                tbody {
                    @for (s, at, cause) in history.iter().rev() {
                        tr {
                            td data-label="When" { (when(*at)) }
                            td data-label="State" { (state_badge(*s)) }
                            td data-label="By" { (cause) }
                        }
                    }
                }
            }
        }
        @match &backups {
            Ok(None) => {}
            Err(e) => section.card { h2 { "Backups" } (notice(Some(&e.to_string()), false)) },
            Ok(Some(list)) => section.card #backups {
                div.page-head {
                    h2 { "Backups" }
                    @if server.state != ServerState::Deleted {
                        (action_button(viewer, server.id, "backup", "Back up now", "secondary"))
                    }
                }
                @if list.is_empty() {
                    p.empty { "No backup yet. A backup is a consistent snapshot of the world's data, taken while it runs." }
                } @else {
                    table.stack {
                        thead { tr { th { "Taken" } th.num { "Size" } th { "" } } }
                        tbody {
                            @for b in list {
                                tr {
                                    td data-label="Taken" { (when(b.created_at_ms)) br; span.muted.mono { (b.name) } }
                                    td.num data-label="Size" { (size_text(b.size)) }
                                    td {
                                        form.inline method="post" action={ "/servers/" (server.id) "/restore" } {
                                            (csrf_field(viewer))
                                            input type="hidden" name="backup" value=(b.name);
                                            button.secondary type="submit" title="Stops the server and puts this backup in place of its data" { "Restore" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        }
    };
    Ok(layout(&server.name, Some(viewer), body))
}

/// Bytes as people read them: `512 B`, `3.4 KiB`, `12.0 MiB`.
fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn stat(label: &str, name: &str, value: &str) -> Markup {
    html! {
        div.stat {
            div.label { (label) }
            div.value data-stat=(name) { (value) }
        }
    }
}

fn action_button(viewer: &Viewer, id: i64, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action={ "/servers/" (id) "/" (action) } {
            (csrf_field(viewer))
            button class=(class) type="submit" { (label) }
        }
    }
}

/// `POST /servers/{id}/{action}` fields.
#[derive(Debug, Deserialize)]
pub(super) struct ActForm {
    csrf: String,
    /// The backup to restore (`restore` only).
    #[serde(default)]
    backup: String,
    /// The console line (`console` only).
    #[serde(default)]
    line: String,
}

/// `POST /servers/{id}/wake|hibernate|delete|backup|restore`.
pub(super) async fn act(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, action)): Path<(i64, String)>,
    form: Result<Form<ActForm>, FormRejection>,
) -> Result<Response, Failure> {
    let form = form.ok().map(|Form(f)| f);
    viewer.check_csrf(form.as_ref().map_or("", |f| f.csrf.as_str()))?;
    let caller = viewer.caller();
    let done = match action.as_str() {
        "wake" => state.hosting.wake(caller, id).await.map(drop),
        "hibernate" => state.hosting.hibernate(caller, id).await.map(drop),
        "delete" => state.hosting.delete(caller, id).await.map(drop),
        "backup" => state.hosting.back_up(caller, id).await.map(drop),
        "console" => {
            let line = form.as_ref().map_or("", |f| f.line.as_str());
            state.hosting.console(caller, id, line).await
        }
        "restore" => {
            let name = form.as_ref().map_or("", |f| f.backup.as_str());
            state.hosting.restore(caller, id, name).await.map(drop)
        }
        _ => {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                "There is no such action.",
            ))
        }
    }
    .map_err(ApiError::from);
    match done {
        Ok(()) if action == "delete" => Ok(Redirect::to("/servers?ok=delete").into_response()),
        Ok(()) => Ok(Redirect::to(&format!("/servers/{id}?ok={action}")).into_response()),
        Err(
            e @ (ApiError::Conflict(_)
            | ApiError::BadGateway(_)
            | ApiError::Unavailable(_)
            | ApiError::BadRequest(_)),
        ) => {
            let server = state
                .hosting
                .visible(viewer.caller(), id)
                .await
                .map_err(ApiError::from)?;
            let page = server_page(&state, &viewer, &server, None, Some(&e.to_string())).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Where the lines of `now` stop repeating `before`: `now[fresh_from(..)..]`
/// are the lines logged since. Both are the tail of the same log, so the
/// longest suffix of `before` that starts `now` is what was seen already.
pub(crate) fn fresh_from(before: &[String], now: &[String]) -> usize {
    (1..=before.len().min(now.len()))
        .rev()
        .find(|&k| before[before.len() - k..] == now[..k])
        .unwrap_or(0)
}

/// What the stream remembers between polls.
struct Follow {
    state: AppState,
    viewer: Viewer,
    id: i64,
    /// The log lines sent so far (`None` until the first poll).
    seen: Option<Vec<String>>,
    last: Option<(ServerState, Stats)>,
    first: bool,
}

impl Follow {
    /// The events of one poll: the state and stats when they changed, and
    /// the new log lines. `None` ends the stream (the server is gone).
    async fn poll(&mut self) -> Option<Vec<Event>> {
        if !self.first {
            tokio::time::sleep(STREAM_EVERY).await;
        }
        self.first = false;
        let server = self
            .state
            .hosting
            .visible(self.viewer.caller(), self.id)
            .await
            .ok()?;
        let mut events = Vec::new();
        let Ok(agent) = self.state.hosting.orchestrator() else {
            return Some(events);
        };
        let stats = agent.stats(self.id).await.unwrap_or_default();
        if self.last.as_ref() != Some(&(server.state, stats.clone())) {
            events.push(Event::default().event("state").data(server.state.as_str()));
            if let Ok(e) = Event::default().event("stats").json_data(&stats) {
                events.push(e);
            }
            self.last = Some((server.state, stats));
        }
        if let Ok(lines) = agent.logs(self.id, LOG_LINES).await {
            if self.seen.is_none() {
                // The first poll replaces the page's snapshot: lines logged
                // between the page and the stream are not lost.
                if let Ok(e) = Event::default().event("logs").json_data(&lines) {
                    events.push(e);
                }
                self.seen = Some(lines);
                return Some(events);
            }
            let seen = self.seen.as_deref().unwrap_or_default();
            let from = fresh_from(seen, &lines);
            for line in &lines[from..] {
                events.push(
                    Event::default()
                        .event("log")
                        .data(line.replace(['\r', '\n'], " ")),
                );
            }
            self.seen = Some(lines);
        }
        Some(events)
    }
}

/// `GET /servers/{id}/events`: server-sent events while the page is open:
/// `logs` first (the whole tail, a JSON array, replacing the page's
/// snapshot), then `log` per new line, and `state` and `stats` when they
/// change. Ends when the server is deleted or the
/// platform shuts down.
pub(super) async fn events(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Failure> {
    state
        .hosting
        .visible(viewer.caller(), id)
        .await
        .map_err(ApiError::from)?;
    let shutdown = state.shutdown.clone();
    let follow = Follow {
        state,
        viewer,
        id,
        seen: None,
        last: None,
        first: true,
    };
    let polls = stream::unfold(follow, |mut f| async move {
        let events = f.poll().await?;
        Some((stream::iter(events.into_iter().map(Ok)), f))
    })
    .flatten()
    .take_until(shutdown.cancelled_owned());
    Ok(Sse::new(polls).keep_alive(KeepAlive::default()))
}

/// "15 minutes", "90 seconds".
fn idle_text(seconds: i64) -> String {
    if seconds % 60 == 0 {
        match seconds / 60 {
            1 => "1 minute".into(),
            m => format!("{m} minutes"),
        }
    } else {
        format!("{seconds} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::fresh_from;

    fn lines(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn only_lines_logged_since_are_fresh() {
        assert_eq!(fresh_from(&lines(""), &lines("a b")), 0);
        assert_eq!(fresh_from(&lines("a b"), &lines("a b")), 2, "nothing new");
        assert_eq!(fresh_from(&lines("a b"), &lines("a b c d")), 2);
        assert_eq!(
            fresh_from(&lines("a b c"), &lines("b c d")),
            2,
            "the window slid"
        );
        assert_eq!(
            fresh_from(&lines("a b"), &lines("x y")),
            0,
            "all new (rotated)"
        );
        assert_eq!(fresh_from(&lines("a b"), &lines("")), 0);
    }
}
