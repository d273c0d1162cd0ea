//! Failed attempts per keyed subject, for sign-in and mail throttling: `login_failures`.

use super::Store;

impl Store {
    /// Counts one attempt against `subject`; `attempt` names it for `forget_attempt`.
    pub async fn record_attempt(
        &self,
        subject: &str,
        attempt: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO login_failures (subject, at, attempt) VALUES ($1, $2, $3)")
            .bind(subject)
            .bind(now)
            .bind(attempt)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes an attempt's rows: it was refused unchecked, or it was right.
    pub async fn forget_attempt(&self, attempt: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE attempt = $1")
            .bind(attempt)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Number of attempts since `since`, and the oldest of them.
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
