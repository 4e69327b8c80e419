//! Consent: prior consent (事前同意) granted in the portal, and per-request consent (都度同意) through
//! the portal's built-in OIDC provider (standing in for gBizID).
//!
//! - [`prior`]: the portal's REST API for representatives to grant, list and revoke prior consents.
//! - [`oidc`]: the portal as OIDC provider (discovery, JWKS, authorize with login + consent screen,
//!   token endpoint with authorization code + PKCE S256, `private_key_jwt` client authentication).
//! - [`tsudo`]: the requester node's consent page, the relying-party side of the code flow, the
//!   single-use consent tokens and their redemption.
//!
//! How the provider node checks a per-request consent offline: the requester node forwards the ID
//! token the portal signed (compact JWS, EdDSA, with the portal's key, the nodes' trust anchor) as the
//! request token's consent reference (`cref`). The provider verifies it with the trust anchor it
//! already holds, and checks audience (= the requesting node), corporate number, API, scopes and
//! expiry, and accepts each ID token once ([`verify_consent_reference`]).

pub mod oidc;
pub mod prior;
pub mod tsudo;

use serde::{Deserialize, Serialize};

/// `typ` of the portal's ID tokens (distinct from bundles' `renkei-bundle+jwt`).
pub const ID_TOKEN_TYP: &str = "JWT";

/// How long an ID token (and the consent it carries) lives.
pub const ID_TOKEN_LIFETIME_SECS: i64 = 300;

/// gBizID's account types: 1 Entry, 2 Prime (the corporation's representative), 3 Member.
pub fn account_type(role: crate::accounts::Role) -> &'static str {
    match role {
        crate::accounts::Role::OrgAdmin => "2",
        crate::accounts::Role::OrgMember => "3",
        crate::accounts::Role::Operator => "1",
    }
}

/// The claims of the portal's ID tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    /// `account:<id>` of the portal account that logged in.
    pub sub: String,
    /// The requester node's client id.
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub auth_time: i64,
    pub nonce: String,
    /// Unique per ID token: a provider node accepts each once.
    pub jti: String,
    /// The corporation the account belongs to (13 digits).
    pub corporate_number: String,
    /// gBizID account type: `1` Entry, `2` Prime, `3` Member.
    pub account_type: String,
    /// The consented scopes, space-separated, `openid` first.
    pub scope: String,
    /// Slug of the API consented to.
    pub api: String,
    /// Client id of the provider node that serves the API.
    pub provider: String,
}

impl IdTokenClaims {
    /// The consented data scopes (without `openid`).
    pub fn data_scopes(&self) -> Vec<String> {
        self.scope
            .split_whitespace()
            .filter(|s| *s != "openid")
            .map(str::to_owned)
            .collect()
    }
}

/// Why a per-request consent was refused; each has its own code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error("the consent reference is not a valid ID token signed by the portal: {0}")]
    Invalid(String),
    #[error("the per-request consent has expired")]
    Expired,
    #[error("the per-request consent was already used")]
    Replayed,
    #[error("the per-request consent is unknown")]
    Unknown,
    #[error("the per-request consent was given for corporation {given}, not for {asked}")]
    OtherCorporation { given: String, asked: String },
    #[error("the per-request consent does not cover this request: {0}")]
    NotCovered(String),
}

impl ConsentError {
    pub fn code(&self) -> &'static str {
        match self {
            ConsentError::Invalid(_) => "consent_invalid",
            ConsentError::Expired => "consent_expired",
            ConsentError::Replayed => "consent_replayed",
            ConsentError::Unknown => "consent_unknown",
            ConsentError::OtherCorporation { .. } => "consent_other_corporation",
            ConsentError::NotCovered(_) => "consent_not_covered",
        }
    }

    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            ConsentError::Invalid(_) | ConsentError::Unknown => {
                axum::http::StatusCode::UNAUTHORIZED
            }
            _ => axum::http::StatusCode::FORBIDDEN,
        }
    }

    pub fn to_api(&self) -> crate::api_error::ApiError {
        crate::api_error::ApiError::new(self.status(), self.code(), self.to_string())
    }
}

/// Signs an ID token with the portal's key.
pub fn sign_id_token(key: &crate::keys::NodeKey, claims: &IdTokenClaims) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some(ID_TOKEN_TYP.to_owned());
    header.kid = Some(key_id(&key.public_b64()));
    jsonwebtoken::encode(&header, claims, &key.encoding_key())
        .expect("EdDSA signing with a valid key cannot fail")
}

/// The JWKS `kid` of a public key: the first 16 characters of its SHA-256 (base64url).
pub fn key_id(public_b64: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(public_b64.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)[..16].to_owned()
}

/// Decodes and checks an ID token's signature, algorithm and type against `key`; times and audience
/// are checked by the caller (so that each gets its own error).
pub fn decode_id_token(
    token: &str,
    key: &jsonwebtoken::DecodingKey,
) -> Result<IdTokenClaims, ConsentError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| ConsentError::Invalid(e.to_string()))?;
    if header.alg != jsonwebtoken::Algorithm::EdDSA {
        return Err(ConsentError::Invalid(format!(
            "algorithm {:?}; only EdDSA is accepted",
            header.alg
        )));
    }
    if header.typ.as_deref() != Some(ID_TOKEN_TYP) {
        return Err(ConsentError::Invalid(format!(
            "type {:?} is not an ID token",
            header.typ
        )));
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims = ["exp", "iss", "sub", "aud"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    jsonwebtoken::decode::<IdTokenClaims>(token, key, &validation)
        .map(|d| d.claims)
        .map_err(|e| ConsentError::Invalid(e.to_string()))
}

/// What a provider node checks of a per-request consent reference, offline.
pub struct ConsentCheck<'a> {
    /// The portal's public key (the node's trust anchor).
    pub anchor: &'a str,
    /// The requesting node (the token's issuer) — must be the ID token's audience.
    pub requester: &'a str,
    pub corporate_number: &'a str,
    pub api: &'a str,
    pub scopes: &'a [String],
}

/// Verifies a consent reference (the portal-signed ID token) for one request.
pub fn verify_consent_reference(
    cref: &str,
    check: &ConsentCheck<'_>,
    replay: &crate::token::ReplayGuard,
) -> Result<IdTokenClaims, ConsentError> {
    let key = crate::keys::decoding_key(check.anchor)
        .map_err(|e| ConsentError::Invalid(e.to_string()))?;
    let claims = decode_id_token(cref, &key)?;
    if claims.aud != check.requester {
        return Err(ConsentError::NotCovered(format!(
            "it was given to {}, not to {}",
            claims.aud, check.requester
        )));
    }
    if crate::token::unix_now() > claims.exp + crate::token::LEEWAY_SECS {
        return Err(ConsentError::Expired);
    }
    if claims.corporate_number != check.corporate_number {
        return Err(ConsentError::OtherCorporation {
            given: claims.corporate_number.clone(),
            asked: check.corporate_number.to_owned(),
        });
    }
    if claims.api != check.api {
        return Err(ConsentError::NotCovered(format!(
            "it is for API {}, not {}",
            claims.api, check.api
        )));
    }
    let given = claims.data_scopes();
    if let Some(s) = check.scopes.iter().find(|s| !given.contains(s)) {
        return Err(ConsentError::NotCovered(format!(
            "scope {s:?} was not consented to"
        )));
    }
    if !replay.first_use(&claims.jti, claims.exp) {
        return Err(ConsentError::Replayed);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::NodeKey;

    fn claims(exp: i64) -> IdTokenClaims {
        IdTokenClaims {
            iss: "http://portal".into(),
            sub: "account:1".into(),
            aud: "req".into(),
            iat: 0,
            exp,
            auth_time: 0,
            nonce: "n".into(),
            jti: "j1".into(),
            corporate_number: "1010001072706".into(),
            account_type: "2".into(),
            scope: "openid basic x-nta".into(),
            api: "api".into(),
            provider: "prov".into(),
        }
    }

    fn check<'a>(anchor: &'a str, scopes: &'a [String]) -> ConsentCheck<'a> {
        ConsentCheck {
            anchor,
            requester: "req",
            corporate_number: "1010001072706",
            api: "api",
            scopes,
        }
    }

    #[test]
    fn a_token_of_another_type_signed_by_the_portal_is_no_consent() {
        let key = NodeKey::generate();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.typ = Some("renkei-bundle+jwt".into());
        let jws = jsonwebtoken::encode(
            &header,
            &claims(crate::token::unix_now() + 60),
            &key.encoding_key(),
        )
        .unwrap();
        let scopes = vec!["basic".to_owned()];
        let error = verify_consent_reference(
            &jws,
            &check(&key.public_b64(), &scopes),
            &Default::default(),
        )
        .unwrap_err();
        assert_eq!(error.code(), "consent_invalid", "{error}");
    }

    #[test]
    fn a_consent_covers_only_its_scopes_and_is_accepted_once() {
        let key = NodeKey::generate();
        let jws = sign_id_token(&key, &claims(crate::token::unix_now() + 60));
        let anchor = key.public_b64();
        let replay = crate::token::ReplayGuard::default();
        let finance = vec!["finance".to_owned()];
        let error = verify_consent_reference(&jws, &check(&anchor, &finance), &replay).unwrap_err();
        assert_eq!(error.code(), "consent_not_covered");
        let basic = vec!["basic".to_owned(), "x-nta".to_owned()];
        let ok = verify_consent_reference(&jws, &check(&anchor, &basic), &replay).unwrap();
        assert_eq!(ok.data_scopes(), basic);
        let again = verify_consent_reference(&jws, &check(&anchor, &basic), &replay).unwrap_err();
        assert_eq!(again.code(), "consent_replayed");
    }

    #[test]
    fn the_key_id_is_stable_and_short() {
        let key = NodeKey::generate();
        assert_eq!(key_id(&key.public_b64()), key_id(&key.public_b64()));
        assert_eq!(key_id(&key.public_b64()).len(), 16);
    }
}
