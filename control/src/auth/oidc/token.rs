//! The token request (trading the code for tokens, OpenID Connect Core
//! 3.1.3) built as plain data, and its response read: the shell only sends
//! it.

use std::fmt;

use data_encoding::BASE64;
use serde::Deserialize;
use url::form_urlencoded::byte_serialize;
use url::Url;

use super::discovery::{ClientAuth, Discovery};

/// A token request ready to send: POST `form` (urlencoded) to `url`, with
/// `authorization` as the `Authorization` header when set.
#[derive(Clone)]
pub struct TokenRequest {
    /// The token endpoint.
    pub url: Url,
    /// The form fields.
    pub form: Vec<(&'static str, String)>,
    /// `Basic …` for `client_secret_basic`.
    pub authorization: Option<String>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The form and header hold the code, verifier and secret.
        f.debug_struct("TokenRequest")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// What the token request needs besides the discovery document.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// The client id.
    pub client_id: &'a str,
    /// The client secret.
    pub client_secret: &'a str,
    /// The code from the callback.
    pub code: &'a str,
    /// The same redirect URI as in the authorization request.
    pub redirect_uri: &'a str,
    /// The PKCE verifier.
    pub code_verifier: &'a str,
}

/// Builds the token request, authenticating as `discovery` says.
pub fn token_request(discovery: &Discovery, x: &Exchange<'_>) -> TokenRequest {
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", x.code.to_owned()),
        ("redirect_uri", x.redirect_uri.to_owned()),
        ("code_verifier", x.code_verifier.to_owned()),
        ("client_id", x.client_id.to_owned()),
    ];
    let authorization = match discovery.client_auth {
        ClientAuth::Basic => Some(basic_auth(x.client_id, x.client_secret)),
        ClientAuth::Post => {
            form.push(("client_secret", x.client_secret.to_owned()));
            None
        }
    };
    TokenRequest {
        url: discovery.token_endpoint.clone(),
        form,
        authorization,
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 2.3.1).
pub fn basic_auth(client_id: &str, client_secret: &str) -> String {
    let id: String = byte_serialize(client_id.as_bytes()).collect();
    let secret: String = byte_serialize(client_secret.as_bytes()).collect();
    format!(
        "Basic {}",
        BASE64.encode(format!("{id}:{secret}").as_bytes())
    )
}

/// Why the token endpoint's answer gave no ID token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The provider refused (an OAuth error such as `invalid_grant`: the
    /// code was used, expired, or the verifier did not match).
    #[error("the provider refused the sign-in code ({0})")]
    Refused(String),
    /// Not the JSON a token response is.
    #[error("the provider's token answer is not valid (HTTP {status})")]
    Malformed {
        /// The HTTP status.
        status: u16,
    },
    /// Success, but no `id_token`.
    #[error("the provider's token answer has no ID token")]
    NoIdToken,
}

#[derive(Deserialize)]
struct Raw {
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Reads the token endpoint's answer: the `id_token` of a 200, or why not.
pub fn parse_token_response(status: u16, body: &[u8]) -> Result<String, TokenError> {
    let raw: Option<Raw> = serde_json::from_slice(body).ok();
    match raw {
        Some(Raw {
            error: Some(error),
            error_description,
            ..
        }) => Err(TokenError::Refused(describe(&error, error_description))),
        Some(Raw {
            id_token: Some(t), ..
        }) if status == 200 => Ok(t),
        Some(_) if status == 200 => Err(TokenError::NoIdToken),
        _ => Err(TokenError::Malformed { status }),
    }
}

/// `error: description`, printable and short, as the provider said it.
fn describe(error: &str, description: Option<String>) -> String {
    let text = match description {
        Some(d) if !d.is_empty() => format!("{error}: {d}"),
        _ => error.to_owned(),
    };
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery(client_auth: ClientAuth) -> Discovery {
        Discovery {
            issuer: "https://id.example.com".into(),
            authorization_endpoint: Url::parse("https://id.example.com/a").unwrap(),
            token_endpoint: Url::parse("https://id.example.com/t").unwrap(),
            jwks_uri: Url::parse("https://id.example.com/k").unwrap(),
            client_auth,
        }
    }

    const X: Exchange<'static> = Exchange {
        client_id: "id:1",
        client_secret: "se cret",
        code: "the-code",
        redirect_uri: "http://127.0.0.1/cb",
        code_verifier: "ver",
    };

    fn field<'a>(r: &'a TokenRequest, k: &str) -> Option<&'a str> {
        r.form
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn basic_and_post_authentication() {
        let r = token_request(&discovery(ClientAuth::Basic), &X);
        assert_eq!(r.url.as_str(), "https://id.example.com/t");
        assert_eq!(field(&r, "grant_type"), Some("authorization_code"));
        assert_eq!(field(&r, "code"), Some("the-code"));
        assert_eq!(field(&r, "redirect_uri"), Some("http://127.0.0.1/cb"));
        assert_eq!(field(&r, "code_verifier"), Some("ver"));
        assert_eq!(field(&r, "client_secret"), None);
        // "id%3A1:se+cret"
        assert_eq!(
            r.authorization.as_deref(),
            Some("Basic aWQlM0ExOnNlK2NyZXQ=")
        );
        assert!(!format!("{r:?}").contains("cret"));

        let r = token_request(&discovery(ClientAuth::Post), &X);
        assert_eq!(r.authorization, None);
        assert_eq!(field(&r, "client_id"), Some("id:1"));
        assert_eq!(field(&r, "client_secret"), Some("se cret"));
    }

    #[test]
    fn token_responses() {
        assert_eq!(
            parse_token_response(200, br#"{"id_token":"a.b.c","token_type":"Bearer"}"#),
            Ok("a.b.c".into())
        );
        assert_eq!(
            parse_token_response(
                400,
                br#"{"error":"invalid_grant","error_description":"code used\n"}"#
            ),
            Err(TokenError::Refused("invalid_grant: code used".into()))
        );
        assert_eq!(
            parse_token_response(200, br#"{"access_token":"x"}"#),
            Err(TokenError::NoIdToken)
        );
        assert_eq!(
            parse_token_response(502, b"<html>bad gateway</html>"),
            Err(TokenError::Malformed { status: 502 })
        );
        assert_eq!(
            parse_token_response(500, br#"{"id_token":"a.b.c"}"#),
            Err(TokenError::Malformed { status: 500 })
        );
    }
}
