//! The HTTP client for S3 stores: `object_store`'s own reqwest client, with
//! TLS through rustls and the `ring` provider.
//!
//! The workspace builds reqwest with `rustls-no-provider` (its default
//! provider, aws-lc, is kept out of the build), and such a reqwest panics
//! when it builds a client unless a process-wide rustls provider is
//! installed. This connector installs `ring` as that provider if none is
//! installed yet (one already installed is kept), then lets `object_store`
//! build its client as usual, so every S3 option (`AWS_ALLOW_HTTP`,
//! proxies, timeouts, extra root certificates) still applies.

use object_store::client::{ClientOptions, HttpClient, HttpConnector, ReqwestConnector};

/// [`ReqwestConnector`] with rustls' `ring` provider made available.
#[derive(Debug, Default)]
pub(crate) struct RingConnector;

impl HttpConnector for RingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        // Err means a provider is installed already, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
        ReqwestConnector::default().connect(options)
    }
}
