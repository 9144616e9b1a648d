//! The HTTP plumbing both directions share: the client builder and how an
//! error answer is read.

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

/// The message in a JSON error body (`{"error": "..."}`), or the text.
pub fn error_text(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_read() {
        assert_eq!(
            error_text(r#"{"error":"not enough credits"}"#),
            "not enough credits"
        );
        assert_eq!(error_text("plain"), "plain");
    }
}
