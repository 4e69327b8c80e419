//! Node signing keys: Ed25519, generated at first start and kept in a 0600 PKCS#8 PEM file.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{
    SigningKey, VerifyingKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding},
};
use std::{io::Write, path::Path};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("public key {0:?} is not a base64url Ed25519 key of 32 bytes")]
    BadPublicKey(String),
}

/// A node's (or the portal's) signing identity.
#[derive(Clone)]
pub struct NodeKey {
    signing: SigningKey,
    pkcs8_der: Vec<u8>,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private half.
        write!(f, "NodeKey({})", self.public_b64())
    }
}

impl NodeKey {
    pub fn generate() -> NodeKey {
        let signing = SigningKey::generate(&mut rand_core::OsRng);
        Self::from_signing(signing)
    }

    fn from_signing(signing: SigningKey) -> NodeKey {
        let pkcs8_der = signing
            .to_pkcs8_der()
            .expect("an Ed25519 key always encodes as PKCS#8")
            .as_bytes()
            .to_vec();
        NodeKey { signing, pkcs8_der }
    }

    /// Loads the key at `path`, or generates one and writes it there (mode 0600).
    pub fn load_or_generate(path: &Path) -> Result<NodeKey, KeyError> {
        let fail = |reason: String| KeyError::File {
            path: path.display().to_string(),
            reason,
        };
        if path.exists() {
            let pem = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
            let signing = SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| fail(format!("not an Ed25519 PKCS#8 key: {e}")))?;
            return Ok(Self::from_signing(signing));
        }
        let key = Self::generate();
        let pem = key
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| fail(e.to_string()))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| fail(e.to_string()))?;
        file.write_all(pem.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
        Ok(key)
    }

    /// The public key as the registry stores it: raw 32 bytes, base64url without padding.
    pub fn public_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes())
    }

    pub fn encoding_key(&self) -> jsonwebtoken::EncodingKey {
        jsonwebtoken::EncodingKey::from_ed_der(&self.pkcs8_der)
    }
}

/// Parses a registered public key into a JWS verification key.
pub fn decoding_key(public_b64: &str) -> Result<jsonwebtoken::DecodingKey, KeyError> {
    let raw = URL_SAFE_NO_PAD
        .decode(public_b64)
        .map_err(|_| KeyError::BadPublicKey(public_b64.to_owned()))?;
    let bytes: [u8; 32] = raw
        .try_into()
        .map_err(|_| KeyError::BadPublicKey(public_b64.to_owned()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::BadPublicKey(public_b64.to_owned()))?;
    Ok(jsonwebtoken::DecodingKey::from_ed_der(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_is_kept_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key.pem");
        let first = NodeKey::load_or_generate(&path).unwrap();
        let again = NodeKey::load_or_generate(&path).unwrap();
        assert_eq!(first.public_b64(), again.public_b64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn rejects_a_short_public_key() {
        assert!(matches!(
            decoding_key("AAAA"),
            Err(KeyError::BadPublicKey(_))
        ));
    }
}
