//! Server-wide random secrets made on first use (the throttle key): `app_secrets`.

use base64::Engine;
use rand::RngCore;

use super::Store;

impl Store {
    /// Returns the named server secret, creating it once; every node reads the
    /// same value because the first writer wins.
    pub async fn server_secret(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let mut fresh = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        let encoded = base64::engine::general_purpose::STANDARD.encode(fresh);
        sqlx::query(
            "INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(&encoded)
        .execute(self.pool())
        .await?;
        let stored: String = sqlx::query_scalar("SELECT value FROM app_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await?;
        Ok(base64::engine::general_purpose::STANDARD.decode(stored)?)
    }
}
