//! ID token validation (OpenID Connect Core 3.1.3.7): the token the
//! provider returns says who signed in, and is believed only when
//!
//! - it is signed by one of the provider's published keys (its JWK set),
//!   chosen by the header's `kid`, with an asymmetric algorithm: RS256,
//!   RS384, RS512, PS256, PS384, PS512, ES256 or ES384. `none` and the
//!   HMAC algorithms (whose "key" would be the client secret, or anything
//!   an attacker picks) are refused before any key is looked at;
//! - `iss` is the provider's issuer;
//! - `aud` contains the client id, and when there are several audiences
//!   (or an `azp` at all), `azp` is the client id;
//! - `exp` is in the future and `iat` (and `nbf`) not in the future, with
//!   [`LEEWAY_SECS`] for clock skew;
//! - `nonce` is the one this sign-in sent.
//!
//! Everything here is pure: the time comes in as a parameter.

use std::str::FromStr;

use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde::Deserialize;

use crate::auth::same_secret;

/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// The signature algorithms accepted.
pub const ALGORITHMS: [&str; 8] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
];

/// Who signed in, as a validated ID token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider (`iss`).
    pub issuer: String,
    /// The provider's stable id for the account (`sub`): with the issuer,
    /// what identifies the account (emails can change hands).
    pub subject: String,
    /// The email address (`email`), if the provider gave one.
    pub email: Option<String>,
    /// Whether the provider says it verified the email (`email_verified`).
    pub email_verified: bool,
    /// The display name (`name`), if given.
    pub name: Option<String>,
}

/// Why an ID token was not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// Not a well-formed signed JWT, or claims of the wrong type.
    #[error("it is malformed ({0})")]
    Malformed(String),
    /// Signed with an algorithm that is not accepted (`none`, `HS256`, …).
    #[error("it is signed with {0:?}, which is not accepted")]
    Algorithm(String),
    /// No published key has its `kid` (or, without a `kid`, no single key
    /// fits).
    #[error("it is signed with a key the provider does not publish ({})", .0.as_deref().unwrap_or("no key id"))]
    UnknownKey(Option<String>),
    /// The signature does not verify.
    #[error("its signature is not valid")]
    BadSignature,
    /// `iss` is not the provider.
    #[error("it was issued by {0:?}, not by this provider")]
    Issuer(String),
    /// `aud` does not contain the client id.
    #[error("it was issued for another application")]
    Audience,
    /// `azp` is not the client id.
    #[error("it was issued to another application (azp)")]
    AuthorizedParty,
    /// `exp` has passed.
    #[error("it has expired")]
    Expired,
    /// `iat` or `nbf` is in the future.
    #[error("it is not valid yet (are the clocks right?)")]
    NotYetValid,
    /// `nonce` is not the one sent.
    #[error("it was not issued for this sign-in (wrong nonce)")]
    Nonce,
    /// A required claim is absent.
    #[error("it has no {0} claim")]
    Missing(&'static str),
}

/// One usable verification key.
struct Key {
    kid: Option<String>,
    alg: Option<Algorithm>,
    family: AlgorithmFamily,
    key: DecodingKey,
}

/// A provider's signing keys: the usable ones of its JWK set (RSA and EC
/// keys for signatures; symmetric, encryption and unknown keys are
/// dropped).
pub struct Jwks {
    keys: Vec<Key>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|k| k.kid.as_deref()).collect();
        f.debug_struct("Jwks").field("kids", &kids).finish()
    }
}

/// The JWK set is not JSON of the right shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its signing keys are not a valid JWK set ({0})")]
pub struct JwksError(pub String);

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl Jwks {
    /// Parses a JWK set document (`{"keys": [...]}`), keeping the keys
    /// usable for ID token signatures.
    pub fn parse(body: &[u8]) -> Result<Jwks, JwksError> {
        let raw: RawSet = serde_json::from_slice(body).map_err(|e| JwksError(e.to_string()))?;
        let keys = raw.keys.into_iter().filter_map(usable_key).collect();
        Ok(Jwks { keys })
    }

    /// How many usable keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn usable_key(value: serde_json::Value) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let family = match jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
        AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
        _ => return None,
    };
    let alg = match jwk.common.key_algorithm {
        Some(a) => Some(Algorithm::from_str(&a.to_string()).ok()?),
        None => None,
    };
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        family,
        key: DecodingKey::from_jwk(&jwk).ok()?,
    })
}

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The provider's issuer.
    pub issuer: &'a str,
    /// The platform's client id.
    pub client_id: &'a str,
    /// The nonce sent with this sign-in.
    pub nonce: &'a str,
    /// Now, in seconds since the Unix epoch.
    pub now: u64,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    azp: Option<String>,
    exp: Option<f64>,
    iat: Option<f64>,
    nbf: Option<f64>,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<Flag>,
    name: Option<String>,
}

/// Validates `token` against `jwks` and `expected`, and says who it names.
pub fn validate(
    token: &str,
    jwks: &Jwks,
    expected: &Expected<'_>,
) -> Result<Identity, IdTokenError> {
    let header = header(token)?;
    let alg = accepted_algorithm(&header.alg)?;
    let key = select_key(jwks, alg, header.kid.as_deref())?;
    let claims = verify_signature(token, key, alg)?;
    check_claims(&claims, expected)?;
    Ok(Identity {
        issuer: expected.issuer.to_owned(),
        subject: claims.sub.unwrap_or_default(),
        email: claims.email,
        email_verified: matches!(claims.email_verified, Some(Flag::Bool(true)))
            || matches!(&claims.email_verified, Some(Flag::Text(t)) if t == "true"),
        name: claims.name,
    })
}

/// A compact JWS's header (read before the signature is checked, to pick
/// the algorithm and key).
fn header(token: &str) -> Result<Header, IdTokenError> {
    let malformed = |what: &str| IdTokenError::Malformed(what.to_owned());
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three parts"));
    };
    let bytes = BASE64URL_NOPAD
        .decode(h.as_bytes())
        .map_err(|_| malformed("header is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| malformed("header is not a JWS header"))
}

fn accepted_algorithm(alg: &str) -> Result<Algorithm, IdTokenError> {
    let refused = || IdTokenError::Algorithm(alg.chars().take(20).collect());
    if !ALGORITHMS.contains(&alg) {
        return Err(refused());
    }
    Algorithm::from_str(alg).map_err(|_| refused())
}

fn select_key<'k>(
    jwks: &'k Jwks,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<&'k Key, IdTokenError> {
    let fits = |k: &&Key| k.family == alg.family() && k.alg.is_none_or(|a| a == alg);
    let mut candidates = jwks
        .keys
        .iter()
        .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
        .filter(fits);
    match (candidates.next(), candidates.next(), kid) {
        (Some(key), None, _) => Ok(key),
        // Several keys share the kid: the first that fits.
        (Some(key), Some(_), Some(_)) => Ok(key),
        _ => Err(IdTokenError::UnknownKey(kid.map(str::to_owned))),
    }
}

fn verify_signature(token: &str, key: &Key, alg: Algorithm) -> Result<Claims, IdTokenError> {
    let mut validation = Validation::new(alg);
    // Every claim is checked by check_claims, against the given time.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::InvalidSignature => IdTokenError::BadSignature,
            _ => IdTokenError::Malformed(e.to_string()),
        }),
    }
}

fn check_claims(c: &Claims, x: &Expected<'_>) -> Result<(), IdTokenError> {
    let iss = c.iss.as_deref().ok_or(IdTokenError::Missing("iss"))?;
    if iss != x.issuer {
        return Err(IdTokenError::Issuer(iss.chars().take(100).collect()));
    }
    check_audience(c, x.client_id)?;
    check_times(c, x.now as f64)?;
    let nonce = c.nonce.as_deref().ok_or(IdTokenError::Missing("nonce"))?;
    if !same_secret(nonce, x.nonce) {
        return Err(IdTokenError::Nonce);
    }
    match c.sub.as_deref() {
        Some(sub) if !sub.is_empty() => Ok(()),
        _ => Err(IdTokenError::Missing("sub")),
    }
}

fn check_audience(c: &Claims, client_id: &str) -> Result<(), IdTokenError> {
    let several = match c.aud.as_ref().ok_or(IdTokenError::Missing("aud"))? {
        Audience::One(a) if a == client_id => false,
        Audience::Many(all) if all.iter().any(|a| a == client_id) => all.len() > 1,
        _ => return Err(IdTokenError::Audience),
    };
    match c.azp.as_deref() {
        Some(azp) if azp != client_id => Err(IdTokenError::AuthorizedParty),
        None if several => Err(IdTokenError::AuthorizedParty),
        _ => Ok(()),
    }
}

fn check_times(c: &Claims, now: f64) -> Result<(), IdTokenError> {
    let leeway = LEEWAY_SECS as f64;
    let exp = c.exp.ok_or(IdTokenError::Missing("exp"))?;
    if exp + leeway <= now {
        return Err(IdTokenError::Expired);
    }
    let iat = c.iat.ok_or(IdTokenError::Missing("iat"))?;
    if iat > now + leeway || c.nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err(IdTokenError::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header as JwtHeader};
    use serde_json::{json, Value};

    const RSA_A: &str = include_str!("../../../tests/support/oidc_rsa_a.pem");
    const RSA_B: &str = include_str!("../../../tests/support/oidc_rsa_b.pem");
    const EC: &str = include_str!("../../../tests/support/oidc_ec_p256.pem");
    const ISS: &str = "https://id.example.com";
    const CLIENT: &str = "platform";
    const NOW: u64 = 1_700_000_000;

    fn rsa(pem: &str) -> EncodingKey {
        EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
    }

    fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
        let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
        jwk.common.key_id = Some(kid.into());
        serde_json::to_value(jwk).unwrap()
    }

    /// A set with RSA key "a" and EC key "e"; key B is not in it.
    fn jwks() -> Jwks {
        let ec = EncodingKey::from_ec_pem(EC.as_bytes()).unwrap();
        let set = json!({ "keys": [
            jwk(&rsa(RSA_A), Algorithm::RS256, "a"),
            jwk(&ec, Algorithm::ES256, "e"),
            { "kty": "oct", "k": "c2VjcmV0", "kid": "h" },
            { "kty": "RSA", "use": "enc", "kid": "x", "n": "AQAB", "e": "AQAB" },
        ]});
        Jwks::parse(set.to_string().as_bytes()).unwrap()
    }

    fn claims() -> Value {
        json!({
            "iss": ISS, "sub": "user-1", "aud": CLIENT,
            "exp": NOW + 300, "iat": NOW, "nonce": "n0nce",
            "email": "ada@example.com", "email_verified": true, "name": "Ada",
        })
    }

    fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
        let mut header = JwtHeader::new(alg);
        header.kid = kid.map(str::to_owned);
        encode(&header, claims, key).unwrap()
    }

    fn rs256(claims: &Value) -> String {
        sign(Algorithm::RS256, Some("a"), &rsa(RSA_A), claims)
    }

    fn check(token: &str) -> Result<Identity, IdTokenError> {
        validate(
            token,
            &jwks(),
            &Expected {
                issuer: ISS,
                client_id: CLIENT,
                nonce: "n0nce",
                now: NOW,
            },
        )
    }

    fn with(field: &str, value: Value) -> Value {
        let mut c = claims();
        c[field] = value;
        c
    }

    fn without(field: &str) -> Value {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(field);
        c
    }

    #[test]
    fn a_good_rs256_token() {
        assert_eq!(jwks().len(), 2, "the oct and enc keys are dropped");
        let id = check(&rs256(&claims())).unwrap();
        assert_eq!(
            id,
            Identity {
                issuer: ISS.into(),
                subject: "user-1".into(),
                email: Some("ada@example.com".into()),
                email_verified: true,
                name: Some("Ada".into()),
            }
        );
        let id = check(&rs256(&with("email_verified", json!("true")))).unwrap();
        assert!(id.email_verified);
        let id = check(&rs256(&without("email_verified"))).unwrap();
        assert!(!id.email_verified);
    }

    #[test]
    fn a_good_es256_token() {
        let ec = EncodingKey::from_ec_pem(EC.as_bytes()).unwrap();
        let id = check(&sign(Algorithm::ES256, Some("e"), &ec, &claims())).unwrap();
        assert_eq!(id.subject, "user-1");
    }

    #[test]
    fn none_and_hmac_are_refused() {
        let body = BASE64URL_NOPAD.encode(claims().to_string().as_bytes());
        let none = format!(
            "{}.{body}.",
            BASE64URL_NOPAD.encode(br#"{"alg":"none","kid":"a"}"#)
        );
        assert_eq!(check(&none), Err(IdTokenError::Algorithm("none".into())));
        // HS256 keyed with the RSA key's public modulus, or with anything.
        let hs = sign(
            Algorithm::HS256,
            Some("h"),
            &EncodingKey::from_secret(b"secret"),
            &claims(),
        );
        assert_eq!(check(&hs), Err(IdTokenError::Algorithm("HS256".into())));
    }

    #[test]
    fn the_key_is_chosen_by_kid() {
        assert_eq!(
            check(&sign(Algorithm::RS256, Some("b"), &rsa(RSA_B), &claims())),
            Err(IdTokenError::UnknownKey(Some("b".into())))
        );
        // Without a kid and with one RSA key, that key.
        assert!(check(&sign(Algorithm::RS256, None, &rsa(RSA_A), &claims())).is_ok());
        // The EC key's kid with an RSA algorithm: no such key.
        assert_eq!(
            check(&sign(Algorithm::RS256, Some("e"), &rsa(RSA_A), &claims())),
            Err(IdTokenError::UnknownKey(Some("e".into())))
        );
    }

    #[test]
    fn signatures_are_checked() {
        // Signed by key B but claiming to be key A.
        assert_eq!(
            check(&sign(Algorithm::RS256, Some("a"), &rsa(RSA_B), &claims())),
            Err(IdTokenError::BadSignature)
        );
        // Claims changed after signing.
        let token = rs256(&claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = BASE64URL_NOPAD.encode(with("sub", json!("admin")).to_string().as_bytes());
        parts[1] = &forged;
        assert_eq!(check(&parts.join(".")), Err(IdTokenError::BadSignature));
        assert!(matches!(
            check("not.a-token"),
            Err(IdTokenError::Malformed(_))
        ));
    }

    #[test]
    fn the_issuer_is_checked() {
        assert_eq!(
            check(&rs256(&with("iss", json!("https://evil.example.com")))),
            Err(IdTokenError::Issuer("https://evil.example.com".into()))
        );
        assert_eq!(
            check(&rs256(&without("iss"))),
            Err(IdTokenError::Missing("iss"))
        );
    }

    #[test]
    fn the_audience_and_authorized_party_are_checked() {
        assert_eq!(
            check(&rs256(&with("aud", json!("someone-else")))),
            Err(IdTokenError::Audience)
        );
        assert_eq!(
            check(&rs256(&with("aud", json!(["x", "y"])))),
            Err(IdTokenError::Audience)
        );
        let many = with("aud", json!([CLIENT, "other"]));
        assert_eq!(check(&rs256(&many)), Err(IdTokenError::AuthorizedParty));
        let mut ok = many.clone();
        ok["azp"] = json!(CLIENT);
        assert!(check(&rs256(&ok)).is_ok());
        assert_eq!(
            check(&rs256(&with("azp", json!("other")))),
            Err(IdTokenError::AuthorizedParty)
        );
        assert!(check(&rs256(&with("aud", json!([CLIENT])))).is_ok());
    }

    #[test]
    fn times_are_checked_with_leeway() {
        let leeway = LEEWAY_SECS;
        assert!(check(&rs256(&with("exp", json!(NOW - leeway + 1)))).is_ok());
        assert_eq!(
            check(&rs256(&with("exp", json!(NOW - leeway)))),
            Err(IdTokenError::Expired)
        );
        assert_eq!(
            check(&rs256(&without("exp"))),
            Err(IdTokenError::Missing("exp"))
        );
        assert!(check(&rs256(&with("iat", json!(NOW + leeway)))).is_ok());
        assert_eq!(
            check(&rs256(&with("iat", json!(NOW + leeway + 1)))),
            Err(IdTokenError::NotYetValid)
        );
        assert_eq!(
            check(&rs256(&with("nbf", json!(NOW + leeway + 1)))),
            Err(IdTokenError::NotYetValid)
        );
        assert_eq!(
            check(&rs256(&without("iat"))),
            Err(IdTokenError::Missing("iat"))
        );
    }

    #[test]
    fn the_nonce_and_subject_are_checked() {
        assert_eq!(
            check(&rs256(&with("nonce", json!("other")))),
            Err(IdTokenError::Nonce)
        );
        assert_eq!(
            check(&rs256(&without("nonce"))),
            Err(IdTokenError::Missing("nonce"))
        );
        assert_eq!(
            check(&rs256(&with("sub", json!("")))),
            Err(IdTokenError::Missing("sub"))
        );
    }

    #[test]
    fn bad_jwk_sets() {
        assert!(Jwks::parse(b"{}").is_err());
        assert!(Jwks::parse(b"[1]").is_err());
        assert!(Jwks::parse(br#"{"keys":[{"kty":"weird"}]}"#)
            .unwrap()
            .is_empty());
    }
}
