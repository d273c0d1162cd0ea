//! Hashed second-factor recovery codes, each usable once: `recovery_codes`.

use super::{detached, Store};
use crate::ids::AccountId;

impl Store {
    /// Replaces the account's recovery codes with the given hashes.
    pub async fn replace_recovery_codes(
        &self,
        account_id: &AccountId,
        hashes: &[String],
    ) -> Result<(), sqlx::Error> {
        let (pool, account_id, hashes) =
            (self.pool().clone(), account_id.to_owned(), hashes.to_vec());
        detached(self.slots(), async move {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind(&account_id)
                .execute(&mut *tx)
                .await?;
            for hash in &hashes {
                sqlx::query("INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)")
                    .bind(&account_id)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })
        .await
    }

    /// Uses a recovery code once; false when unknown or already used.
    pub async fn consume_recovery_code(
        &self,
        account_id: &AccountId,
        hash: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(account_id)
        .bind(hash)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn unused_recovery_codes(&self, account_id: &AccountId) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        )
        .bind(account_id)
        .fetch_one(self.pool())
        .await
    }
}
