//! A small OpenID Connect provider for tests: an axum server on
//! 127.0.0.1 (a port of its own) that signs in one configured user without
//! asking, and can be told to misbehave.
//!
//! It serves `/.well-known/openid-configuration`, `/authorize` (checks the
//! request, then redirects 302 to `redirect_uri` with `code` and `state`),
//! `/token` (checks the client id and secret, whether by Basic or in the
//! form, the redirect URI and the PKCE verifier against the challenge;
//! each code works once; answers an RS256 ID token carrying the nonce given
//! to `/authorize`) and `/jwks`. Its keys are fixed RSA test keys beside
//! this file (generating RSA keys in a debug build is slow).
//!
//! ```ignore
//! #[path = "support/oidc_provider.rs"]
//! mod oidc_provider;
//! let idp = TestProvider::start("client", "secret", TestUser::new("sub-1", "ada@example.com")).await;
//! // --oidc-provider name=test,issuer={idp.issuer},client-id=client,client-secret=secret
//! idp.set(Knob::WrongNonce);
//! ```

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const KEY_A: &str = include_str!("oidc_rsa_a.pem");
const KEY_B: &str = include_str!("oidc_rsa_b.pem");

/// The account the provider signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUser {
    /// `sub`.
    pub subject: String,
    /// `email`.
    pub email: String,
    /// `email_verified`.
    pub verified: bool,
}

impl TestUser {
    /// A user with a verified email.
    pub fn new(subject: &str, email: &str) -> TestUser {
        TestUser {
            subject: subject.into(),
            email: email.into(),
            verified: true,
        }
    }
}

/// Ways to misbehave; several may be on at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Knob {
    /// The ID token's nonce is not the one sent to `/authorize`.
    WrongNonce,
    /// The ID token's `iss` is another issuer.
    WrongIssuer,
    /// The ID token's `aud` is another client.
    WrongAudience,
    /// The ID token expired an hour ago.
    Expired,
    /// The ID token names a key id the JWK set does not have.
    UnknownKid,
    /// The ID token is signed with a key other than the one its `kid` names.
    BadSignature,
    /// `email_verified` is false whatever the user says.
    EmailUnverified,
    /// The discovery document names another issuer.
    DiscoveryWrongIssuer,
    /// The discovery document offers only `client_secret_post`, and
    /// `/token` refuses Basic.
    SecretPostOnly,
}

struct SigningKey {
    kid: &'static str,
    key: EncodingKey,
    jwk: Value,
}

fn signing_key(kid: &'static str, pem: &str) -> SigningKey {
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("the test key parses");
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("a JWK of the test key");
    jwk.common.key_id = Some(kid.into());
    let mut jwk = serde_json::to_value(jwk).expect("JWKs serialise");
    jwk["use"] = json!("sig");
    SigningKey { kid, key, jwk }
}

/// What `/authorize` granted, waiting for `/token`.
struct Grant {
    redirect_uri: String,
    nonce: String,
    challenge: String,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: String,
    user: TestUser,
    knobs: HashSet<Knob>,
    grants: HashMap<String, Grant>,
    /// Signs ID tokens; the JWK set publishes it alone.
    current: SigningKey,
    other: SigningKey,
    jwks_fetches: usize,
    token_requests: usize,
    /// "basic" or "post": how the last token request authenticated.
    last_client_auth: Option<&'static str>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(s: &Shared) -> MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running test provider; stops when dropped.
pub struct TestProvider {
    /// Its issuer, `http://127.0.0.1:PORT`.
    pub issuer: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestProvider {
    /// Starts a provider that knows one client and signs in `user`.
    pub async fn start(client_id: &str, client_secret: &str, user: TestUser) -> TestProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the test provider");
        let issuer = format!("http://{}", listener.local_addr().expect("its address"));
        let shared = Arc::new(Mutex::new(Inner {
            issuer: issuer.clone(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            user,
            knobs: HashSet::new(),
            grants: HashMap::new(),
            current: signing_key("key-a", KEY_A),
            other: signing_key("key-b", KEY_B),
            jwks_fetches: 0,
            token_requests: 0,
            last_client_auth: None,
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestProvider {
            issuer,
            shared,
            server,
        }
    }

    /// Turns a misbehaviour on.
    pub fn set(&self, knob: Knob) {
        lock(&self.shared).knobs.insert(knob);
    }

    /// Turns a misbehaviour off.
    pub fn clear(&self, knob: Knob) {
        lock(&self.shared).knobs.remove(&knob);
    }

    /// Turns every misbehaviour off.
    pub fn behave(&self) {
        lock(&self.shared).knobs.clear();
    }

    /// Signs in `user` from now on.
    pub fn set_user(&self, user: TestUser) {
        lock(&self.shared).user = user;
    }

    /// Rotates the signing key: the other key (another `kid`) signs from
    /// now on, and the JWK set publishes it instead of the old one.
    pub fn rotate_key(&self) {
        let mut s = lock(&self.shared);
        let s = &mut *s;
        std::mem::swap(&mut s.current, &mut s.other);
    }

    /// How many times `/jwks` was fetched.
    pub fn jwks_fetches(&self) -> usize {
        lock(&self.shared).jwks_fetches
    }

    /// How the last token request authenticated the client: `"basic"` or
    /// `"post"`.
    pub fn last_client_auth(&self) -> Option<&'static str> {
        lock(&self.shared).last_client_auth
    }

    /// How many times `/token` was called.
    pub fn token_requests(&self) -> usize {
        lock(&self.shared).token_requests
    }
}

async fn discovery(State(s): State<Shared>) -> Json<Value> {
    let s = lock(&s);
    let issuer = if s.knobs.contains(&Knob::DiscoveryWrongIssuer) {
        "https://impostor.example.com".to_owned()
    } else {
        s.issuer.clone()
    };
    let auth_methods = if s.knobs.contains(&Knob::SecretPostOnly) {
        json!(["client_secret_post"])
    } else {
        json!(["client_secret_basic", "client_secret_post"])
    };
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{}/authorize", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
        "jwks_uri": format!("{}/jwks", s.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
    }))
}

async fn jwks(State(s): State<Shared>) -> Json<Value> {
    let mut s = lock(&s);
    s.jwks_fetches += 1;
    Json(json!({ "keys": [s.current.jwk] }))
}

fn bad_request(why: &str) -> Response {
    (StatusCode::BAD_REQUEST, why.to_owned()).into_response()
}

async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let mut s = lock(&s);
    if param("response_type") != "code" {
        return bad_request("response_type must be code");
    }
    if param("client_id") != s.client_id {
        return bad_request("unknown client");
    }
    if !param("scope").split(' ').any(|x| x == "openid") {
        return bad_request("scope must include openid");
    }
    if param("code_challenge_method") != "S256" || param("code_challenge").is_empty() {
        return bad_request("PKCE with S256 is required");
    }
    let redirect_uri = param("redirect_uri");
    let Ok(mut back) = url::Url::parse(redirect_uri) else {
        return bad_request("redirect_uri is not a URL");
    };
    let code = format!("code-{:016x}", fastrand::u64(..));
    s.grants.insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.into(),
            nonce: param("nonce").into(),
            challenge: param("code_challenge").into(),
        },
    );
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", param("state"));
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// The client id and secret from Basic (form-urlencoded, RFC 6749 2.3.1)
/// or from the form, and which it was.
fn client_credentials(
    headers: &HeaderMap,
    form: &TokenForm,
) -> Option<(String, String, &'static str)> {
    let Some(auth) = headers.get(header::AUTHORIZATION) else {
        let (id, secret) = (form.client_id.clone()?, form.client_secret.clone()?);
        return Some((id, secret, "post"));
    };
    let encoded = auth.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(BASE64.decode(encoded.as_bytes()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?, "basic"))
}

async fn token(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let mut s = lock(&s);
    s.token_requests += 1;
    if form.grant_type != "authorization_code" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let post_only = s.knobs.contains(&Knob::SecretPostOnly);
    match client_credentials(&headers, &form) {
        Some((id, secret, how))
            if id == s.client_id && secret == s.client_secret && !(post_only && how == "basic") =>
        {
            s.last_client_auth = Some(how);
        }
        _ => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"),
    }
    let Some(grant) = s.grants.remove(&form.code) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let challenge = BASE64URL_NOPAD.encode(&Sha256::digest(form.code_verifier.as_bytes()));
    if grant.redirect_uri != form.redirect_uri || grant.challenge != challenge {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let id_token = id_token(&s, &grant.nonce);
    Json(json!({
        "access_token": format!("at-{:016x}", fastrand::u64(..)),
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token,
    }))
    .into_response()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn id_token(s: &Inner, nonce: &str) -> String {
    let on = |k: Knob| s.knobs.contains(&k);
    let now = unix_now();
    let (iat, exp) = if on(Knob::Expired) {
        (now - 7200, now - 3600)
    } else {
        (now, now + 300)
    };
    let claims = json!({
        "iss": if on(Knob::WrongIssuer) { "https://impostor.example.com" } else { s.issuer.as_str() },
        "sub": s.user.subject,
        "aud": if on(Knob::WrongAudience) { "another-client" } else { s.client_id.as_str() },
        "iat": iat,
        "exp": exp,
        "nonce": if on(Knob::WrongNonce) { "not-the-nonce" } else { nonce },
        "email": s.user.email,
        "email_verified": s.user.verified && !on(Knob::EmailUnverified),
        "name": "Test User",
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(
        if on(Knob::UnknownKid) {
            "key-unknown"
        } else {
            s.current.kid
        }
        .into(),
    );
    let key = if on(Knob::BadSignature) {
        &s.other.key
    } else {
        &s.current.key
    };
    jsonwebtoken::encode(&header, &claims, key).expect("the test provider signs")
}
