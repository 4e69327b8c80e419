//! Node configuration bundles: what one node needs to know (peers, keys, APIs, approvals, consents), signed by the portal.
//!
//! The portal signs each bundle as a compact JWS (EdDSA, `typ: renkei-bundle+jwt`) with its Ed25519 key;
//! a node's only trust anchor is the portal's public key. A node accepts a bundle only if it is signed by
//! that key with EdDSA, addressed to this node, inside its validity window, and newer than the one it has.

pub mod store;

use crate::keys::{NodeKey, decoding_key};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

/// The issuer every bundle names.
pub const ISSUER: &str = "portal";
/// The JWS `typ` of a bundle, so a request token can never pass as a bundle or the other way round.
pub const TYP: &str = "renkei-bundle+jwt";
/// Clock skew tolerated on `nbf` (the portal and the node may disagree by a few seconds).
pub const LEEWAY_SECS: i64 = 5;

/// Everything one node is told by the portal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeBundle {
    #[serde(rename = "iss")]
    pub issuer: String,
    /// The node this bundle is for (its client id).
    #[serde(rename = "aud")]
    pub audience: String,
    /// Strictly increasing per node: a node refuses a version at or below the one it holds.
    pub version: u64,
    /// Unix seconds.
    #[serde(rename = "iat")]
    pub issued_at: i64,
    /// Unix seconds; the node fails closed after it.
    #[serde(rename = "exp")]
    pub expires_at: i64,
    pub members: Vec<Member>,
    pub nodes: Vec<BundleNode>,
    pub apis: Vec<BundleApi>,
    pub applications: Vec<Application>,
    pub prior_consents: Vec<PriorConsent>,
    pub plugin_digests: Vec<PluginDigest>,
}

/// An organisation and the nodes it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub organisation: String,
    pub nodes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleNode {
    pub client_id: String,
    pub organisation: String,
    /// Base URL, e.g. `http://127.0.0.1:8102`.
    pub endpoint: String,
    /// Raw Ed25519 key, base64url without padding.
    pub public_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleApi {
    /// Catalogue identifier, e.g. `nta-corporations`.
    pub slug: String,
    /// Client id of the node that serves it.
    pub provider: String,
    /// e.g. `/v1/corporations/{number}`.
    pub path_template: String,
    pub scopes: Vec<String>,
    pub consent_required: bool,
}

/// An approved API-use application: `requester` may call `api` of `provider` with these scopes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub requester: String,
    pub provider: String,
    pub api: String,
    pub scopes: Vec<String>,
    pub rate_limit_per_minute: u32,
}

/// Standing consent (事前同意) of a corporation for a requester, for scopes of an API, until a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorConsent {
    /// The portal's id of the consent: exchange records name it as `prior:<id>`.
    #[serde(default)]
    pub id: i64,
    pub corporate_number: String,
    pub requester: String,
    pub api: String,
    pub scopes: Vec<String>,
    /// `YYYY-MM-DD`, inclusive.
    pub until: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginDigest {
    pub plugin: String,
    /// Hex SHA-256 of the component.
    pub sha256: String,
}

impl NodeBundle {
    pub fn node(&self, client_id: &str) -> Option<&BundleNode> {
        self.nodes.iter().find(|n| n.client_id == client_id)
    }

    pub fn api(&self, slug: &str) -> Option<&BundleApi> {
        self.apis.iter().find(|a| a.slug == slug)
    }

    /// The approval that lets `requester` call `api` at `provider`, if any.
    pub fn application(&self, requester: &str, provider: &str, api: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| a.requester == requester && a.provider == provider && a.api == api)
    }

    /// Half the lifetime has passed: time to warn that the portal has not refreshed the bundle.
    pub fn past_half_life(&self, now: i64) -> bool {
        now >= self.issued_at + (self.expires_at - self.issued_at) / 2
    }
}

/// Why a bundle was refused. Each refusal has its own code; the node keeps its last good bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not a signed compact JWS: {0}")]
    Malformed(String),
    #[error("the bundle uses algorithm {0:?}; only EdDSA is accepted")]
    WrongAlgorithm(String),
    #[error("the bundle's signature does not verify against the portal's key")]
    BadSignature,
    #[error("the bundle is for node {got:?}, not for this node ({expected:?})")]
    WrongAudience { expected: String, got: String },
    #[error("the bundle expired at {0} (unix seconds)")]
    Expired(i64),
    #[error("the bundle is not valid before {0} (unix seconds)")]
    NotYetValid(i64),
    #[error("the bundle's version {got} is not newer than the installed version {current}")]
    Rollback { current: u64, got: u64 },
}

impl BundleError {
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Malformed(_) => "bundle_malformed",
            BundleError::WrongAlgorithm(_) => "bundle_algorithm",
            BundleError::BadSignature => "bundle_signature",
            BundleError::WrongAudience { .. } => "bundle_audience",
            BundleError::Expired(_) => "bundle_expired",
            BundleError::NotYetValid(_) => "bundle_not_yet_valid",
            BundleError::Rollback { .. } => "bundle_rollback",
        }
    }

    /// HTTP status when a bundle is pushed to a node's admin endpoint.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            BundleError::Malformed(_) => StatusCode::BAD_REQUEST,
            BundleError::Rollback { .. } => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn to_api_error(&self) -> crate::api_error::ApiError {
        crate::api_error::ApiError::new(self.status(), self.code(), self.to_string())
    }
}

/// Signs a bundle with the portal's key.
pub fn sign(portal_key: &NodeKey, bundle: &NodeBundle) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(TYP.to_owned());
    jsonwebtoken::encode(&header, bundle, &portal_key.encoding_key())
        .expect("EdDSA signing with a valid key cannot fail")
}

/// When to check the validity window.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// Check `nbf`/`exp` against this unix time.
    At(i64),
    /// Skip it: a node reloading its own persisted bundle at start keeps it even if expired, so that it
    /// can answer `bundle_expired` (fail closed) instead of forgetting why it has nothing.
    Ignore,
}

/// Verifies a compact JWS against the portal's public key (`anchor`, base64url) for node `audience`,
/// refusing anything at or below `current_version`. Checks in the order that names the real fault:
/// form, algorithm, signature, audience, time, version.
pub fn verify(
    jws: &str,
    anchor: &str,
    audience: &str,
    current_version: Option<u64>,
    clock: Clock,
) -> Result<NodeBundle, BundleError> {
    let jws = jws.trim();
    let parts: Vec<&str> = jws.split('.').collect();
    let [header, _payload, signature] = parts.as_slice() else {
        return Err(BundleError::Malformed(
            "expected three dot-separated parts (an unsigned JSON file is not accepted)".into(),
        ));
    };
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| BundleError::Malformed("the header is not base64url JSON".into()))?;
    let alg = header
        .get("alg")
        .and_then(|a| a.as_str())
        .unwrap_or("")
        .to_owned();
    if alg != "EdDSA" {
        return Err(BundleError::WrongAlgorithm(alg));
    }
    if header.get("typ").and_then(|t| t.as_str()) != Some(TYP) {
        return Err(BundleError::Malformed(format!(
            "the header's typ must be {TYP:?}"
        )));
    }
    if signature.is_empty() {
        return Err(BundleError::Malformed("the signature is empty".into()));
    }
    let key = decoding_key(anchor).map_err(|e| BundleError::Malformed(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    // Times, audience and issuer are checked below so that each refusal names its own reason.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let bundle = jsonwebtoken::decode::<NodeBundle>(jws, &key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => BundleError::BadSignature,
            ErrorKind::InvalidAlgorithm => BundleError::WrongAlgorithm(alg.clone()),
            other => BundleError::Malformed(format!("{other:?}")),
        })?
        .claims;
    if bundle.issuer != ISSUER {
        return Err(BundleError::Malformed(format!(
            "the issuer is {:?}, not {ISSUER:?}",
            bundle.issuer
        )));
    }
    if bundle.audience != audience {
        return Err(BundleError::WrongAudience {
            expected: audience.to_owned(),
            got: bundle.audience,
        });
    }
    if let Clock::At(now) = clock {
        if now >= bundle.expires_at {
            return Err(BundleError::Expired(bundle.expires_at));
        }
        if bundle.issued_at > now + LEEWAY_SECS {
            return Err(BundleError::NotYetValid(bundle.issued_at));
        }
    }
    if let Some(current) = current_version
        && bundle.version <= current
    {
        return Err(BundleError::Rollback {
            current,
            got: bundle.version,
        });
    }
    Ok(bundle)
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(version: u64, issued_at: i64, lifetime: i64) -> NodeBundle {
        NodeBundle {
            issuer: ISSUER.into(),
            audience: "provider".into(),
            version,
            issued_at,
            expires_at: issued_at + lifetime,
            members: vec![],
            nodes: vec![],
            apis: vec![],
            applications: vec![Application {
                requester: "requester".into(),
                provider: "provider".into(),
                api: "api".into(),
                scopes: vec!["basic".into()],
                rate_limit_per_minute: 60,
            }],
            prior_consents: vec![],
            plugin_digests: vec![],
        }
    }

    #[test]
    fn a_good_bundle_verifies_and_each_fault_has_its_code() {
        let portal = NodeKey::generate();
        let anchor = portal.public_b64();
        let now = 1_000_000;
        let good = sign(&portal, &bundle(5, now, 100));
        let verified = verify(&good, &anchor, "provider", Some(4), Clock::At(now)).unwrap();
        assert_eq!(verified, bundle(5, now, 100));

        let code = |jws: &str, current: Option<u64>, clock: Clock| {
            verify(jws, &anchor, "provider", current, clock)
                .unwrap_err()
                .code()
        };
        assert_eq!(
            code("{\"version\":9}", None, Clock::At(now)),
            "bundle_malformed"
        );
        let forger = NodeKey::generate();
        assert_eq!(
            code(&sign(&forger, &bundle(6, now, 100)), None, Clock::At(now)),
            "bundle_signature"
        );
        let payload = good.split('.').nth(1).unwrap();
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"renkei-bundle+jwt"}"#)
        );
        assert_eq!(code(&none, None, Clock::At(now)), "bundle_algorithm");
        let mut other = bundle(6, now, 100);
        other.audience = "someone-else".into();
        assert_eq!(
            code(&sign(&portal, &other), None, Clock::At(now)),
            "bundle_audience"
        );
        assert_eq!(code(&good, None, Clock::At(now + 100)), "bundle_expired");
        assert_eq!(
            code(&good, None, Clock::At(now - 60)),
            "bundle_not_yet_valid"
        );
        assert_eq!(code(&good, Some(5), Clock::At(now)), "bundle_rollback");
        // An expired bundle still loads when the clock is ignored (reload at start).
        assert!(verify(&good, &anchor, "provider", None, Clock::Ignore).is_ok());
    }

    #[test]
    fn half_life_warning_starts_at_the_middle() {
        let b = bundle(1, 1000, 100);
        assert!(!b.past_half_life(1049));
        assert!(b.past_half_life(1050));
    }
}
