use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2id with OWASP's minimum: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    // These constants are within Argon2's documented limits.
    let params = Params::new(19_456, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on a blocking thread: a hash takes tens of milliseconds of CPU.
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("while hashing a password: {e}"))
    })
    .await
    .context("while waiting for the password hasher")?
}

/// Checks a password against a stored hash. With `None` it still spends the
/// same effort, so unknown accounts cannot be told apart by response time.
pub async fn verify(password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let dummy;
        let encoded = match &stored {
            Some(s) => s.as_str(),
            None => {
                dummy = dummy_hash();
                dummy.as_str()
            }
        };
        let parsed = PasswordHash::new(encoded)
            .map_err(|e| anyhow::anyhow!("while reading a stored password hash: {e}"))?;
        let ok = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && stored.is_some())
    })
    .await
    .context("while waiting for the password verifier")?
}

fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            hasher()
                .hash_password(b"not a real password", &salt)
                .map(|h| h.to_string())
                // Hashing a constant with valid parameters cannot fail.
                .expect("hashing a constant succeeds")
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let h = hash("lantern-oyster-mosaic-41").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("lantern-oyster-mosaic-41", Some(&h)).await.unwrap());
        assert!(!verify("lantern-oyster-mosaic-42", Some(&h)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify("not a real password", None).await.unwrap());
    }
}
