//! Claims of scheduled backup slots (see `crate::backup::schedule`).

use super::Store;

impl Store {
    /// Claims `slot` for this node; `true` only for the one caller, across
    /// all nodes, whose insert created the row. Slots older than the previous
    /// one are pruned, since nobody can claim them any more.
    pub async fn claim_backup_slot(&self, slot: i64, now: i64) -> Result<bool, sqlx::Error> {
        let claimed: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO backup_runs (slot, claimed_at) VALUES ($1, $2) \
             ON CONFLICT (slot) DO NOTHING RETURNING slot",
        )
        .bind(slot)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        sqlx::query("DELETE FROM backup_runs WHERE slot < $1")
            .bind(slot - 1)
            .execute(self.pool())
            .await?;
        Ok(claimed.is_some())
    }
}
