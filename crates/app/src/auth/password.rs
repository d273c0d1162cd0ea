use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::hashing_pool;

/// Argon2id with OWASP's minimum: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    // These constants are within Argon2's documented limits.
    let params = Params::new(19_456, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

thread_local! {
    /// Argon2's 19 MiB of working memory, kept by each hasher thread and
    /// reused: allocating it per run let the allocator's arenas grow to
    /// several copies each (about 290 MB after 300 sign-ins).
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `argon2.hash_password_into` with the thread's reusable memory.
fn hash_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    let blocks = argon2.params().block_count();
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
            .map_err(|e| anyhow::anyhow!("while running Argon2: {e}"))
    })
}

/// What `PasswordHasher::hash_password` does, on reused memory.
fn hash_blocking(password: &[u8]) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let salt = salt.as_salt();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("while reading a fresh salt: {e}"))?;
    let argon2 = hasher();
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        hash_into(&argon2, password, salt_bytes, out).map_err(|_| password_hash::Error::Crypto)
    })
    .map_err(|e| anyhow::anyhow!("while hashing a password: {e}"))?;
    let encoded = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params())
            .map_err(|e| anyhow::anyhow!("while encoding Argon2 parameters: {e}"))?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(encoded.to_string())
}

/// What `PasswordVerifier::verify_password` does, on reused memory: the
/// stored hash's own parameters, and a constant-time comparison.
fn verify_blocking(password: &[u8], encoded: &str) -> anyhow::Result<bool> {
    let bad =
        |e: password_hash::Error| anyhow::anyhow!("while reading a stored password hash: {e}");
    let parsed = PasswordHash::new(encoded).map_err(bad)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("a stored password hash has no salt or no output");
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(bad)?;
    let version = Version::try_from(parsed.version.unwrap_or(Version::V0x13.into()))
        .map_err(|e| anyhow::anyhow!("while reading a stored password hash: {e}"))?;
    let params = Params::try_from(&parsed).map_err(bad)?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(bad)?;
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        hash_into(&argon2, password, salt_bytes, out).map_err(|_| password_hash::Error::Crypto)
    })
    .map_err(|e| anyhow::anyhow!("while checking a password: {e}"))?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

/// Hashes on a hasher thread: a hash takes tens of milliseconds of CPU.
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    hashing_pool::run(move || hash_blocking(password.as_bytes())).await
}

/// Checks a password against a stored hash. With `None` it still spends the
/// same effort, so unknown accounts cannot be told apart by response time.
pub async fn verify(password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    hashing_pool::run(move || {
        let encoded = match &stored {
            Some(s) => s.clone(),
            None => dummy_hash(),
        };
        let ok = verify_blocking(password.as_bytes(), &encoded)?;
        Ok(ok && stored.is_some())
    })
    .await
}

fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            // Hashing a constant with valid parameters cannot fail.
            hash_blocking(b"not a real password").expect("hashing a constant succeeds")
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

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_blocking(b"lantern-oyster-mosaic-41").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(hasher()
            .verify_password(b"lantern-oyster-mosaic-41", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = hasher()
            .hash_password(b"lantern-oyster-mosaic-41", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking(b"lantern-oyster-mosaic-41", &theirs).unwrap());
        assert!(!verify_blocking(b"lantern-oyster-mosaic-42", &theirs).unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify("not a real password", None).await.unwrap());
    }
}
