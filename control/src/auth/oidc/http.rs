//! The HTTP client the shell talks to providers with: rustls with the
//! `ring` provider and the operating system's roots, short timeouts, no
//! redirects followed, and a cap on what it reads.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION};
use rustls_platform_verifier::BuilderVerifierExt;
use url::Url;

use super::token::TokenRequest;

/// How long connecting to a provider may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request to a provider may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most read from one answer (discovery, keys, tokens are small).
pub const MAX_BODY: usize = 1 << 20;

/// An answer: its status and body.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The client: TLS through rustls and `ring`, verified against the
/// platform's roots.
pub(crate) fn client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gsp-platform/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("the HTTP client could not start: {e}"))
}

/// GETs `url` as JSON.
pub(crate) async fn get(http: &reqwest::Client, url: &Url) -> Result<Answer, String> {
    let sent = http
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .send()
        .await;
    read(sent).await
}

/// POSTs a token request.
pub(crate) async fn post(http: &reqwest::Client, req: &TokenRequest) -> Result<Answer, String> {
    let mut builder = http
        .post(req.url.clone())
        .header(ACCEPT, "application/json")
        .form(&req.form);
    if let Some(auth) = &req.authorization {
        builder = builder.header(AUTHORIZATION, auth);
    }
    read(builder.send().await).await
}

async fn read(sent: reqwest::Result<reqwest::Response>) -> Result<Answer, String> {
    let mut resp = sent.map_err(describe)?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err("its answer is too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, body })
}

/// A failed request, in words for a user (the details go to the log).
fn describe(e: reqwest::Error) -> String {
    tracing::warn!(error = %e, source = ?std::error::Error::source(&e), "OIDC request failed");
    if e.is_timeout() {
        "it did not answer in time".into()
    } else if e.is_connect() {
        "could not connect to it".into()
    } else {
        "the request to it failed".into()
    }
}
