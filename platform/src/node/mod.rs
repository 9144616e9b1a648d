//! Nodes: the machines that run worlds, and how the platform drives them.
//!
//! - [`runtime`]: how a world runs on a node (a child process, or a Docker
//!   container), behind one trait.
//! - [`agent`]: the node agent's core (`gsp agent`): the servers it hosts,
//!   each behind a [`wake proxy`](crate::proxy), registration and
//!   heartbeats.
//! - [`http`]: the agent's API, which only the platform calls.
//! - [`wire`]: what the two say to each other.
//! - [`fleet`]: the platform's side: node tokens, registrations,
//!   placement, and the [`Agent`](gsp_control::servers::orchestrator::Agent) that
//!   calls node agents over HTTP.
//!
//! ```text
//!  player ──telnet/QUIC──▶ wake proxy ──▶ world (process or container)
//!                              │ wake                 ▲ start/stop
//!                              ▼                      │
//!                           platform ──HTTP (callback token)──▶ agent
//!                              ▲                      │
//!                              └──register, heartbeat (node token)
//! ```

pub mod agent;
pub mod fleet;
pub mod http;
pub mod routes;
pub mod runtime;
pub mod wire;

/// The HTTP client the platform and its agents call each other with. Plain
/// `http://` on a private network, or `https://` through rustls with `ring`,
/// verified against the system's roots (the crate never builds in another
/// crypto provider).
pub fn http_client() -> reqwest::Client {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verified = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            use rustls_platform_verifier::BuilderVerifierExt;
            b.with_platform_verifier()
        });
    let tls = match verified {
        Ok(b) => b.with_no_client_auth(),
        Err(e) => {
            // No system roots: https calls will fail to verify; http works.
            tracing::warn!("TLS roots unavailable ({e}); https calls will fail");
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        }
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(std::time::Duration::from_secs(5))
        .user_agent(concat!("gsp-platform/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with a preconfigured TLS backend builds")
}
