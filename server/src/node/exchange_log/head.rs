//! Signed chain heads: a node's statement, under its own key, that its log reached `seq` with `hash`.
//!
//! The node signs the head of each batch it ships; the portal checks the signature and that the head is
//! the record it now holds, and keeps the newest. A node operator who later rewrites the log cannot match
//! a head the portal already holds (`renkei log verify --expect-head`).

use crate::keys::{NodeKey, decoding_key};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

/// JOSE `typ` of a chain head, so no other renkei JWS can pass for one.
pub const HEAD_TYP: &str = "renkei-chain-head+jwt";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainHead {
    /// The node's client id.
    pub node: String,
    pub seq: i64,
    pub hash: String,
    /// JST, RFC 3339.
    pub signed_at: String,
    pub iat: i64,
}

pub fn sign(key: &NodeKey, node: &str, seq: i64, hash: &str) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(HEAD_TYP.to_owned());
    let claims = ChainHead {
        node: node.to_owned(),
        seq,
        hash: hash.to_owned(),
        signed_at: crate::jst::now_rfc3339(),
        iat: crate::token::unix_now(),
    };
    jsonwebtoken::encode(&header, &claims, &key.encoding_key())
        .expect("EdDSA signing with a valid key cannot fail")
}

/// Checks a head against the node's registered public key (base64url of the raw Ed25519 key).
pub fn verify(jws: &str, node_public_key: &str) -> Result<ChainHead, String> {
    let header = jsonwebtoken::decode_header(jws)
        .map_err(|e| format!("the chain head is not a JWS: {:?}", e.kind()))?;
    if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(HEAD_TYP) {
        return Err(format!(
            "the chain head must be an EdDSA JWS of type {HEAD_TYP}"
        ));
    }
    let key = decoding_key(node_public_key).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<ChainHead>(jws, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| format!("the chain head's signature does not verify: {:?}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_verifies_only_under_its_nodes_key() {
        let key = NodeKey::generate();
        let jws = sign(&key, "nta-provider", 42, "ab12");
        let head = verify(&jws, &key.public_b64()).unwrap();
        assert_eq!(
            (head.node.as_str(), head.seq, head.hash.as_str()),
            ("nta-provider", 42, "ab12")
        );
        assert!(head.signed_at.ends_with("+09:00"), "{}", head.signed_at);

        let other = NodeKey::generate();
        let err = verify(&jws, &other.public_b64()).unwrap_err();
        assert!(err.contains("does not verify"), "{err}");

        // A request token signed by the same key is not a chain head.
        let token = crate::token::sign(
            &key,
            "nta-provider",
            &crate::token::TokenRequest {
                audience: "portal",
                request_id: "r",
                method: "POST",
                path: "/",
                scopes: &[],
                body: b"",
                consent_ref: None,
            },
            30,
        );
        let err = verify(&token, &key.public_b64()).unwrap_err();
        assert!(err.contains(HEAD_TYP), "{err}");
    }
}
