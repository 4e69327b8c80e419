//! Password hashing with Argon2id (PHC strings); nothing else ever stores or compares a password.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters hashes any password")
        .to_string()
}

/// False for a wrong password and for a malformed stored hash alike.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Remembers recent successful checks so a busy local system does not pay Argon2 (tens of ms, on a
/// blocking thread) on every request. Holds only a SHA-256 of each accepted password, for five minutes.
#[derive(Default)]
pub struct VerifiedCache {
    accepted: std::sync::Mutex<std::collections::HashMap<String, ([u8; 32], std::time::Instant)>>,
}

impl VerifiedCache {
    const TTL: std::time::Duration = std::time::Duration::from_secs(300);

    pub async fn check(&self, user: &str, password: &str, phc: &str) -> bool {
        use sha2::{Digest, Sha256};
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        {
            let accepted = self.accepted.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((known, since)) = accepted.get(user)
                && *known == digest
                && since.elapsed() < Self::TTL
            {
                return true;
            }
        }
        let (password, phc) = (password.to_owned(), phc.to_owned());
        let ok = tokio::task::spawn_blocking(move || verify(&password, &phc))
            .await
            .unwrap_or(false);
        if ok {
            let mut accepted = self.accepted.lock().unwrap_or_else(|p| p.into_inner());
            accepted.insert(user.to_owned(), (digest, std::time::Instant::now()));
        }
        ok
    }
}

/// A random password for generated credentials (the demo's local system).
pub fn generate() -> String {
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn verifies_only_the_right_password() {
        let stored = super::hash("correct horse");
        assert!(stored.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &stored));
        assert!(!super::verify("wrong", &stored));
        assert!(!super::verify("correct horse", "not a hash"));
    }

    #[tokio::test]
    async fn the_cache_never_accepts_a_different_password() {
        let stored = super::hash("pw-one");
        let cache = super::VerifiedCache::default();
        assert!(cache.check("sys", "pw-one", &stored).await);
        assert!(cache.check("sys", "pw-one", &stored).await);
        assert!(!cache.check("sys", "pw-two", &stored).await);
        assert!(!cache.check("other", "pw-one", "not a hash").await);
    }
}
