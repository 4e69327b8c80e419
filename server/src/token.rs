//! Request tokens between nodes: short-lived JWS (EdDSA) that bind issuer, audience, method, path and body.
//!
//! A requester node signs one token per request with its node key; the provider node verifies it offline
//! against the public keys it was configured with. The same shape signs a node's log batches to the portal.

use crate::keys::{NodeKey, decoding_key};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Mutex, RwLock},
    time::{SystemTime, UNIX_EPOCH},
};

/// Longest lifetime a verifier accepts (`exp - iat`).
pub const MAX_LIFETIME_SECS: i64 = 60;
/// Clock skew tolerated between nodes.
pub const LEEWAY_SECS: i64 = 5;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Unique per token: a verifier accepts each `jti` once.
    pub jti: String,
    /// Request id shared by both nodes' log records of this exchange.
    pub rid: String,
    pub method: String,
    /// The normalised path (and query) the token is good for.
    pub path: String,
    pub scopes: Vec<String>,
    /// base64url(SHA-256(body)); the hash of an empty body for GET.
    pub bh: String,
    /// Consent reference, when the API requires consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cref: Option<String>,
}

/// What a token is about, before times and ids are added.
#[derive(Clone, Debug)]
pub struct TokenRequest<'a> {
    pub audience: &'a str,
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub scopes: &'a [String],
    pub body: &'a [u8],
    pub consent_ref: Option<&'a str>,
}

/// The token of an `Authorization: Bearer …` header; the scheme name is case-insensitive (RFC 7235).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

pub fn body_hash(body: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(body))
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Signs a token valid for `lifetime_secs` (at most [`MAX_LIFETIME_SECS`]).
pub fn sign(key: &NodeKey, issuer: &str, request: &TokenRequest<'_>, lifetime_secs: i64) -> String {
    let now = unix_now();
    let claims = RequestClaims {
        iss: issuer.to_owned(),
        aud: request.audience.to_owned(),
        iat: now,
        nbf: now,
        exp: now + lifetime_secs.min(MAX_LIFETIME_SECS),
        jti: uuid::Uuid::new_v4().to_string(),
        rid: request.request_id.to_owned(),
        method: request.method.to_owned(),
        path: request.path.to_owned(),
        scopes: request.scopes.to_vec(),
        bh: body_hash(request.body),
        cref: request.consent_ref.map(str::to_owned),
    };
    sign_claims(key, &claims)
}

/// Signs arbitrary claims; tests use it to forge expired or misdirected tokens with a real key.
pub fn sign_claims(key: &NodeKey, claims: &RequestClaims) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("renkei-request+jwt".to_owned());
    jsonwebtoken::encode(&header, claims, &key.encoding_key())
        .expect("EdDSA signing with a valid key cannot fail")
}

/// Why a token was refused. Each has its own error code; all are 401 except a token meant for
/// another node or a caller that is not allowed, which are 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no request token: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("the request token is not a well-formed JWS: {0}")]
    Malformed(String),
    #[error("the request token uses algorithm {0:?}; only EdDSA is accepted")]
    UnsupportedAlgorithm(String),
    #[error("the request token's issuer {0:?} is not a known node")]
    UnknownIssuer(String),
    #[error("the request token's signature does not verify against the issuer's registered key")]
    BadSignature,
    #[error("the request token has expired")]
    Expired,
    #[error("the request token is not valid yet")]
    NotYetValid,
    #[error("the request token lives {0} s; at most {MAX_LIFETIME_SECS} s is accepted")]
    LifetimeTooLong(i64),
    #[error("the request token is for {got:?}, not for this node ({expected:?})")]
    WrongAudience { expected: String, got: String },
    #[error("the request token does not match the request: {0} differs")]
    RequestMismatch(&'static str),
    #[error("the request token {0} was already used")]
    Replayed(String),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Missing => "token_missing",
            TokenError::Malformed(_) => "token_malformed",
            TokenError::UnsupportedAlgorithm(_) => "token_algorithm",
            TokenError::UnknownIssuer(_) => "token_unknown_issuer",
            TokenError::BadSignature => "token_signature",
            TokenError::Expired => "token_expired",
            TokenError::NotYetValid => "token_not_yet_valid",
            TokenError::LifetimeTooLong(_) => "token_lifetime",
            TokenError::WrongAudience { .. } => "token_audience",
            TokenError::RequestMismatch(_) => "token_request_mismatch",
            TokenError::Replayed(_) => "token_replayed",
        }
    }

    /// 401 for an unauthenticated caller; 403 for a genuine token sent to the wrong node.
    pub fn status(&self) -> u16 {
        match self {
            TokenError::WrongAudience { .. } => 403,
            _ => 401,
        }
    }
}

/// Remembers accepted token ids until they expire, so each is accepted once.
#[derive(Default)]
pub struct ReplayGuard {
    seen: Mutex<HashMap<String, i64>>,
}

impl ReplayGuard {
    /// Records `jti`; false if it was already seen and has not expired.
    pub fn first_use(&self, jti: &str, exp: i64) -> bool {
        let now = unix_now();
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() > 4096 {
            seen.retain(|_, e| *e + LEEWAY_SECS >= now);
        }
        match seen.get(jti) {
            Some(e) if *e + LEEWAY_SECS >= now => false,
            _ => {
                seen.insert(jti.to_owned(), exp);
                true
            }
        }
    }
}

/// Verifies tokens addressed to one node against the keys of the nodes it knows. The keys can be
/// replaced (a new bundle) without forgetting which token ids were already used.
pub struct Verifier {
    own_id: String,
    peers: RwLock<HashMap<String, DecodingKey>>,
    replay: ReplayGuard,
}

impl Verifier {
    /// `peers`: client id → registered public key (base64url).
    pub fn new<'a>(
        own_id: &str,
        peers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Verifier, crate::keys::KeyError> {
        let peers = peers
            .into_iter()
            .map(|(id, key)| Ok((id.to_owned(), decoding_key(key)?)))
            .collect::<Result<_, crate::keys::KeyError>>()?;
        Ok(Verifier {
            own_id: own_id.to_owned(),
            peers: RwLock::new(peers),
            replay: ReplayGuard::default(),
        })
    }

    /// Replaces the known keys. A key that does not parse is left out (and logged): its node is then
    /// refused as unknown rather than taking the others down with it.
    pub fn set_peers<'a>(&self, peers: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let parsed = peers
            .into_iter()
            .filter_map(|(id, key)| match decoding_key(key) {
                Ok(k) => Some((id.to_owned(), k)),
                Err(e) => {
                    tracing::warn!(node = id, error = %e, "peer key ignored");
                    None
                }
            })
            .collect();
        *self.peers.write().unwrap_or_else(|p| p.into_inner()) = parsed;
    }

    /// Checks everything about the token and the request it came with, in an order that reports the
    /// most specific reason: form, algorithm, issuer, signature, time, audience, binding, replay.
    pub fn verify(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<RequestClaims, TokenError> {
        let token = token.ok_or(TokenError::Missing)?;
        let (header, payload) = peek(token)?;
        let alg = header
            .get("alg")
            .and_then(|a| a.as_str())
            .unwrap_or("")
            .to_owned();
        if alg != "EdDSA" {
            return Err(TokenError::UnsupportedAlgorithm(alg));
        }
        let iss = payload
            .get("iss")
            .and_then(|i| i.as_str())
            .unwrap_or("")
            .to_owned();
        let key = self
            .peers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&iss)
            .cloned()
            .ok_or(TokenError::UnknownIssuer(iss))?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS as u64;
        validation.validate_nbf = true;
        validation.validate_aud = false; // checked below, to report the audience it named
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<RequestClaims>(token, &key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidAlgorithm => TokenError::UnsupportedAlgorithm(alg.clone()),
                other => TokenError::Malformed(format!("{other:?}")),
            })?
            .claims;
        if claims.exp - claims.iat > MAX_LIFETIME_SECS {
            return Err(TokenError::LifetimeTooLong(claims.exp - claims.iat));
        }
        if claims.iat > unix_now() + LEEWAY_SECS {
            return Err(TokenError::NotYetValid);
        }
        if claims.aud != self.own_id {
            return Err(TokenError::WrongAudience {
                expected: self.own_id.clone(),
                got: claims.aud,
            });
        }
        if claims.method != method {
            return Err(TokenError::RequestMismatch("method"));
        }
        if claims.path != path {
            return Err(TokenError::RequestMismatch("path"));
        }
        if claims.bh != body_hash(body) {
            return Err(TokenError::RequestMismatch("body"));
        }
        if !self.replay.first_use(&claims.jti, claims.exp) {
            return Err(TokenError::Replayed(claims.jti));
        }
        Ok(claims)
    }
}

/// What a provider node signs about each answer: the requester can later prove what it was given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptClaims {
    /// The provider node.
    pub iss: String,
    /// The requester node (empty when the caller was never identified).
    pub aud: String,
    pub rid: String,
    /// base64url(SHA-256(response body)).
    pub bh: String,
    pub status: u16,
    pub iat: i64,
}

/// The response header that carries the receipt.
pub const RECEIPT_HEADER: &str = "x-renkei-receipt";
const RECEIPT_TYP: &str = "renkei-receipt+jwt";

pub fn sign_receipt(key: &NodeKey, claims: &ReceiptClaims) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(RECEIPT_TYP.to_owned());
    jsonwebtoken::encode(&header, claims, &key.encoding_key())
        .expect("EdDSA signing with a valid key cannot fail")
}

/// Checks a receipt against the provider's registered key and the exchange it must describe.
pub fn verify_receipt(
    receipt: &str,
    provider_key: &str,
    expected: &ReceiptClaims,
) -> Result<ReceiptClaims, String> {
    let (header, _) = peek(receipt).map_err(|e| e.to_string())?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("EdDSA")
        || header.get("typ").and_then(|t| t.as_str()) != Some(RECEIPT_TYP)
    {
        return Err("the receipt is not an EdDSA renkei receipt".into());
    }
    let key = decoding_key(provider_key).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<ReceiptClaims>(receipt, &key, &validation)
        .map_err(|e| format!("the receipt does not verify: {:?}", e.kind()))?
        .claims;
    for (what, got, want) in [
        ("issuer", &claims.iss, &expected.iss),
        ("audience", &claims.aud, &expected.aud),
        ("request id", &claims.rid, &expected.rid),
        ("body hash", &claims.bh, &expected.bh),
    ] {
        if got != want {
            return Err(format!("the receipt's {what} does not match the exchange"));
        }
    }
    if claims.status != expected.status {
        return Err("the receipt's status does not match the exchange".into());
    }
    if (claims.iat - unix_now()).abs() > MAX_LIFETIME_SECS {
        return Err("the receipt's time is not now".into());
    }
    Ok(claims)
}

/// The `jti` of a token the caller holds but does not verify here (e.g. the per-request consent ID token
/// a requester node passes on): what its exchange record names as the consent reference.
pub fn unverified_jti(token: &str) -> Option<String> {
    let (_, payload) = peek(token).ok()?;
    payload.get("jti")?.as_str().map(str::to_owned)
}

/// Decodes header and payload without verifying, to choose the key and name the algorithm.
fn peek(token: &str) -> Result<(serde_json::Value, serde_json::Value), TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "expected three dot-separated parts".into(),
        ));
    };
    let decode = |part: &str, what: &str| -> Result<serde_json::Value, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| TokenError::Malformed(format!("{what} is not base64url")))?;
        serde_json::from_slice(&bytes)
            .map_err(|_| TokenError::Malformed(format!("{what} is not JSON")))
    };
    Ok((decode(h, "header")?, decode(p, "payload")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (NodeKey, Verifier) {
        let requester = NodeKey::generate();
        let public = requester.public_b64();
        let verifier = Verifier::new("provider", [("requester", public.as_str())]).unwrap();
        (requester, verifier)
    }

    fn request<'a>(scopes: &'a [String]) -> TokenRequest<'a> {
        TokenRequest {
            audience: "provider",
            request_id: "r1",
            method: "GET",
            path: "/v1/corporations/1180301018771",
            scopes,
            body: b"",
            consent_ref: None,
        }
    }

    #[test]
    fn a_fresh_token_verifies_once() {
        let (key, verifier) = setup();
        let scopes = vec!["basic".to_owned()];
        let token = sign(&key, "requester", &request(&scopes), 30);
        let claims = verifier
            .verify(Some(&token), "GET", "/v1/corporations/1180301018771", b"")
            .unwrap();
        assert_eq!(claims.rid, "r1");
        assert_eq!(claims.scopes, scopes);
        let again = verifier.verify(Some(&token), "GET", "/v1/corporations/1180301018771", b"");
        assert!(matches!(again, Err(TokenError::Replayed(_))));
    }

    #[test]
    fn each_bad_token_has_its_own_error() {
        let (key, verifier) = setup();
        let scopes = vec!["basic".to_owned()];
        let path = "/v1/corporations/1180301018771";
        assert_eq!(
            verifier.verify(None, "GET", path, b""),
            Err(TokenError::Missing)
        );
        assert!(matches!(
            verifier.verify(Some("abc"), "GET", path, b""),
            Err(TokenError::Malformed(_))
        ));

        let forger = NodeKey::generate();
        let forged = sign(&forger, "requester", &request(&scopes), 30);
        assert_eq!(
            verifier.verify(Some(&forged), "GET", path, b""),
            Err(TokenError::BadSignature)
        );

        let stranger = sign(&forger, "stranger", &request(&scopes), 30);
        assert_eq!(
            verifier.verify(Some(&stranger), "GET", path, b""),
            Err(TokenError::UnknownIssuer("stranger".into()))
        );

        let good = sign(&key, "requester", &request(&scopes), 30);
        let mut claims: RequestClaims = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(good.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        claims.iat -= 120;
        claims.nbf -= 120;
        claims.exp = claims.iat + 30;
        claims.jti = "expired".into();
        assert_eq!(
            verifier.verify(Some(&sign_claims(&key, &claims)), "GET", path, b""),
            Err(TokenError::Expired)
        );

        let mut long = claims.clone();
        long.iat = unix_now();
        long.nbf = long.iat;
        long.exp = long.iat + 3600;
        long.jti = "long".into();
        assert_eq!(
            verifier.verify(Some(&sign_claims(&key, &long)), "GET", path, b""),
            Err(TokenError::LifetimeTooLong(3600))
        );

        let misdirected = sign(
            &key,
            "requester",
            &TokenRequest {
                audience: "other",
                ..request(&scopes)
            },
            30,
        );
        assert!(matches!(
            verifier.verify(Some(&misdirected), "GET", path, b""),
            Err(TokenError::WrongAudience { .. })
        ));
        assert_eq!(
            TokenError::WrongAudience {
                expected: "a".into(),
                got: "b".into()
            }
            .status(),
            403
        );

        let token = sign(&key, "requester", &request(&scopes), 30);
        assert_eq!(
            verifier.verify(Some(&token), "GET", "/v1/corporations/1010001072706", b""),
            Err(TokenError::RequestMismatch("path"))
        );

        // alg=none: header {"alg":"none"} with the real payload and no signature.
        let payload = good.split('.').nth(1).unwrap();
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            payload
        );
        assert_eq!(
            verifier.verify(Some(&none), "GET", path, b""),
            Err(TokenError::UnsupportedAlgorithm("none".into()))
        );
    }
}
