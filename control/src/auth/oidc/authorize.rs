//! The authorization request: the URL the browser is sent to (OpenID
//! Connect Core 3.1.2.1, with PKCE).

use url::Url;

/// What goes into an authorization request.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    /// The platform's client id at the provider.
    pub client_id: &'a str,
    /// Where the provider sends the browser back
    /// (`{base}/auth/oidc/{name}/callback`).
    pub redirect_uri: &'a str,
    /// The scopes (with `openid`).
    pub scopes: &'a [String],
    /// The anti-forgery value the callback must bring back.
    pub state: &'a str,
    /// The value the ID token must carry.
    pub nonce: &'a str,
    /// The PKCE S256 challenge of the verifier kept on the server.
    pub code_challenge: &'a str,
}

/// The authorization URL: `endpoint` (keeping any query it has) with
/// `response_type=code`, the client id, redirect URI, scopes, state, nonce
/// and the S256 code challenge.
pub fn authorization_url(endpoint: &Url, req: &AuthorizeRequest<'_>) -> Url {
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", req.client_id)
        .append_pair("redirect_uri", req.redirect_uri)
        .append_pair("scope", &req.scopes.join(" "))
        .append_pair("state", req.state)
        .append_pair("nonce", req.nonce)
        .append_pair("code_challenge", req.code_challenge)
        .append_pair("code_challenge_method", "S256");
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_parameter_is_there_and_encoded() {
        let endpoint = Url::parse("https://id.example.com/authorize?tenant=x").unwrap();
        let scopes = ["openid".to_owned(), "email".to_owned()];
        let url = authorization_url(
            &endpoint,
            &AuthorizeRequest {
                client_id: "client&1",
                redirect_uri: "http://127.0.0.1:8080/auth/oidc/google/callback",
                scopes: &scopes,
                state: "st",
                nonce: "no",
                code_challenge: "ch",
            },
        );
        assert!(url
            .as_str()
            .starts_with("https://id.example.com/authorize?"));
        let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
        let want = [
            ("tenant", "x"),
            ("response_type", "code"),
            ("client_id", "client&1"),
            (
                "redirect_uri",
                "http://127.0.0.1:8080/auth/oidc/google/callback",
            ),
            ("scope", "openid email"),
            ("state", "st"),
            ("nonce", "no"),
            ("code_challenge", "ch"),
            ("code_challenge_method", "S256"),
        ];
        assert_eq!(q.len(), want.len());
        for (k, v) in want {
            assert_eq!(q.get(k).map(String::as_str), Some(v), "{k}");
        }
    }
}
