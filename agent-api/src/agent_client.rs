//! [`AgentClient`]: the platform's calls to one node's agent (its API is
//! served by `gsp-agent`), with the callback token the agent registered.
//!
//! | call | method |
//! | --- | --- |
//! | `PUT /v1/servers/{id}` ([`StartRequest`] → [`Started`]) | [`AgentClient::start`] |
//! | `POST /v1/servers/{id}/stop` | [`AgentClient::stop`] |
//! | `DELETE /v1/servers/{id}` | [`AgentClient::remove`] |
//! | `GET /v1/servers/{id}/logs?lines=N` | [`AgentClient::logs`] |
//! | `POST /v1/servers/{id}/console` ([`ConsoleLine`]) | [`AgentClient::console`] |
//! | `GET /v1/servers/{id}/stats` ([`Stats`]) | [`AgentClient::stats`] |
//! | `POST /v1/servers/{id}/backup` | [`AgentClient::backup`] |
//! | `PUT /v1/servers/{id}/data` | [`AgentClient::restore`] |

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::http::error_text;
use crate::wire::{ConsoleLine, StartRequest, Started, Stats};

/// Starting a world may take its boot time.
pub const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Stopping a world may take its final save.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(90);
/// Logs and stats.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A snapshot on its way either way.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a call to an agent failed, as far as its caller tells the cases
/// apart.
#[derive(Debug, thiserror::Error)]
pub enum AgentCallError {
    /// The agent hosts no such server (it answered 404).
    #[error("{0}")]
    UnknownServer(String),
    /// The agent has no free public port for the server (409).
    #[error("{0}")]
    NoFreePort(String),
    /// The agent answered with another error status; `text` is its
    /// message.
    #[error("{status}: {text}")]
    Failed {
        /// The status it answered.
        status: StatusCode,
        /// Its error message.
        text: String,
    },
    /// The agent could not be reached.
    #[error("{0}")]
    Unreachable(#[source] reqwest::Error),
    /// The agent answered success with a body that could not be read.
    #[error("{0}")]
    BadAnswer(#[source] reqwest::Error),
}

/// What a call sends.
enum Body<'a> {
    None,
    Json(&'a StartRequest),
    Line(&'a ConsoleLine),
    Bytes(Vec<u8>),
}

/// The platform's client for one agent.
#[derive(Debug, Clone)]
pub struct AgentClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl AgentClient {
    /// A client for the agent at `base` (`http://10.0.0.5:8081`) that shows
    /// it `callback_token`.
    pub fn new(http: reqwest::Client, base: &str, callback_token: &str) -> AgentClient {
        AgentClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: callback_token.to_owned(),
        }
    }

    /// The agent's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Body<'_>,
        timeout: Duration,
    ) -> Result<reqwest::Response, AgentCallError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .bearer_auth(&self.token)
            .timeout(timeout);
        match body {
            Body::None => {}
            Body::Json(spec) => request = request.json(spec),
            Body::Line(line) => request = request.json(line),
            Body::Bytes(bytes) => request = request.body(bytes),
        }
        let response = request.send().await.map_err(AgentCallError::Unreachable)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = error_text(&response.text().await.unwrap_or_default());
        Err(match status {
            StatusCode::NOT_FOUND => AgentCallError::UnknownServer(text),
            StatusCode::CONFLICT if text.starts_with("no free public port") => {
                AgentCallError::NoFreePort(text)
            }
            _ => AgentCallError::Failed { status, text },
        })
    }

    /// Starts (or wakes) server `id`; answers once its world is ready, with
    /// its public addresses.
    pub async fn start(&self, id: i64, spec: &StartRequest) -> Result<Started, AgentCallError> {
        let path = format!("/v1/servers/{id}");
        self.call(Method::PUT, &path, Body::Json(spec), START_TIMEOUT)
            .await?
            .json()
            .await
            .map_err(AgentCallError::BadAnswer)
    }

    /// Stops server `id`'s world, keeping its data (hibernation).
    pub async fn stop(&self, id: i64) -> Result<(), AgentCallError> {
        let path = format!("/v1/servers/{id}/stop");
        self.call(Method::POST, &path, Body::None, STOP_TIMEOUT)
            .await?;
        Ok(())
    }

    /// Stops server `id` and removes it with its data.
    pub async fn remove(&self, id: i64) -> Result<(), AgentCallError> {
        let path = format!("/v1/servers/{id}");
        self.call(Method::DELETE, &path, Body::None, STOP_TIMEOUT)
            .await?;
        Ok(())
    }

    /// The last `lines` lines of server `id`'s log.
    pub async fn logs(&self, id: i64, lines: usize) -> Result<Vec<String>, AgentCallError> {
        let path = format!("/v1/servers/{id}/logs?lines={lines}");
        self.call(Method::GET, &path, Body::None, READ_TIMEOUT)
            .await?
            .json()
            .await
            .map_err(AgentCallError::BadAnswer)
    }

    /// Writes `line` to server `id`'s console.
    pub async fn console(&self, id: i64, line: &str) -> Result<(), AgentCallError> {
        let path = format!("/v1/servers/{id}/console");
        let body = ConsoleLine { line: line.into() };
        self.call(Method::POST, &path, Body::Line(&body), READ_TIMEOUT)
            .await?;
        Ok(())
    }

    /// Server `id`'s stats now.
    pub async fn stats(&self, id: i64) -> Result<Stats, AgentCallError> {
        let path = format!("/v1/servers/{id}/stats");
        self.call(Method::GET, &path, Body::None, READ_TIMEOUT)
            .await?
            .json()
            .await
            .map_err(AgentCallError::BadAnswer)
    }

    /// A consistent snapshot of server `id`'s data (a gzip'd tar).
    pub async fn backup(&self, id: i64) -> Result<Vec<u8>, AgentCallError> {
        let path = format!("/v1/servers/{id}/backup");
        let bytes = self
            .call(Method::POST, &path, Body::None, TRANSFER_TIMEOUT)
            .await?
            .bytes()
            .await
            .map_err(AgentCallError::BadAnswer)?;
        Ok(bytes.to_vec())
    }

    /// Replaces the (stopped) server `id`'s data with `archive`.
    pub async fn restore(&self, id: i64, archive: Vec<u8>) -> Result<(), AgentCallError> {
        let path = format!("/v1/servers/{id}/data");
        self.call(Method::PUT, &path, Body::Bytes(archive), TRANSFER_TIMEOUT)
            .await?;
        Ok(())
    }
}
