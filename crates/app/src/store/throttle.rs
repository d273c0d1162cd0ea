use super::Store;

impl Store {
    pub async fn record_login_failure(&self, subject: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO login_failures (subject, at) VALUES ($1, $2)")
            .bind(subject)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Number of failures since `since`, and the oldest of them.
    pub async fn login_failures_since(
        &self,
        subject: &str,
        since: i64,
    ) -> Result<(i64, Option<i64>), sqlx::Error> {
        sqlx::query_as(
            "SELECT COUNT(*), MIN(at) FROM login_failures WHERE subject = $1 AND at > $2",
        )
        .bind(subject)
        .bind(since)
        .fetch_one(self.pool())
        .await
    }

    pub async fn clear_login_failures(&self, subject: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE subject = $1")
            .bind(subject)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn purge_login_failures(&self, before: i64) -> Result<u64, sqlx::Error> {
        let result = sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(result.rows_affected())
    }
}
