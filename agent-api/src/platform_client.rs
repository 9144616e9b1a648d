//! [`PlatformClient`]: a node's calls to the platform (agent and wake
//! proxy), with the node's token (`gsp_nt_…`).
//!
//! | call | method |
//! | --- | --- |
//! | `POST /nodes/v1/register` ([`Registration`] → [`Registered`]) | [`PlatformClient::register`] |
//! | `POST /nodes/v1/heartbeat` ([`Heartbeat`]) | [`PlatformClient::heartbeat`] |
//! | `POST /nodes/v1/servers/{id}/wake` | [`PlatformClient::wake`] |
//! | `POST /nodes/v1/servers/{id}/exited` ([`Exited`]) | [`PlatformClient::exited`] |

use std::time::Duration;

use reqwest::StatusCode;

use crate::http::error_text;
use crate::wire::{Exited, Heartbeat, Registered, Registration};

/// Registrations and heartbeats that take longer than this failed.
pub const PLATFORM_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call to the platform failed.
#[derive(Debug, thiserror::Error)]
pub enum PlatformCallError {
    /// The platform could not be reached.
    #[error("{url}: {source}")]
    Unreachable {
        /// What was called.
        url: String,
        /// Why it failed.
        source: reqwest::Error,
    },
    /// The platform answered with an error status; `text` is its message
    /// (a wake refused for want of credits says so).
    #[error("{url}: {status}: {text}")]
    Refused {
        /// What was called.
        url: String,
        /// The status it answered.
        status: StatusCode,
        /// Its error message.
        text: String,
    },
    /// The platform answered success with a body that could not be read.
    #[error("{url}: {source}")]
    BadAnswer {
        /// What was called.
        url: String,
        /// Why it could not be read.
        source: reqwest::Error,
    },
}

/// A node's client for the platform.
#[derive(Debug, Clone)]
pub struct PlatformClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl PlatformClient {
    /// A client for the platform at `platform` (`http://127.0.0.1:8080`)
    /// that shows it the node token `node_token`.
    pub fn new(http: reqwest::Client, platform: &str, node_token: &str) -> PlatformClient {
        PlatformClient {
            http,
            base: platform.trim_end_matches('/').to_owned(),
            token: node_token.to_owned(),
        }
    }

    /// The platform's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn post(
        &self,
        path: &str,
        body: Option<&impl serde::Serialize>,
        timeout: Option<Duration>,
    ) -> Result<(String, reqwest::Response), PlatformCallError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.post(&url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(source) => return Err(PlatformCallError::Unreachable { url, source }),
        };
        let status = response.status();
        if !status.is_success() {
            let text = error_text(&response.text().await.unwrap_or_default());
            return Err(PlatformCallError::Refused { url, status, text });
        }
        Ok((url, response))
    }

    async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, PlatformCallError> {
        let (url, response) = self.post(path, Some(body), Some(PLATFORM_TIMEOUT)).await?;
        response
            .json()
            .await
            .map_err(|source| PlatformCallError::BadAnswer { url, source })
    }

    /// Registers the node: where its agent listens, which token the
    /// platform must show it; answers with the servers placed on it.
    pub async fn register(&self, r: &Registration) -> Result<Registered, PlatformCallError> {
        self.post_json("/nodes/v1/register", r).await
    }

    /// Reports the node alive, with its servers.
    pub async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), PlatformCallError> {
        self.post_json::<serde_json::Value>("/nodes/v1/heartbeat", beat)
            .await
            .map(|_| ())
    }

    /// Asks the platform to wake server `id` (it bills the wake and has the
    /// node start the world); answers once the world is ready, or why not.
    pub async fn wake(&self, id: i64) -> Result<(), PlatformCallError> {
        let path = format!("/nodes/v1/servers/{id}/wake");
        self.post(&path, None::<&()>, None).await.map(|_| ())
    }

    /// Tells the platform that server `id`'s world exited on its own, and
    /// what the agent does about it.
    pub async fn exited(&self, id: i64, exited: &Exited) -> Result<(), PlatformCallError> {
        let path = format!("/nodes/v1/servers/{id}/exited");
        self.post_json::<serde_json::Value>(&path, exited)
            .await
            .map(|_| ())
    }
}
