//! Background jobs (invitations, reminders) waiting for their time: `jobs`.

use sqlx::FromRow;

use super::{new_id, Store};

#[derive(Clone, Debug, FromRow)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    /// Whom the job is for: an invitation (participant id), or for a
    /// password reset an account id (or a made-up one, see `accounts.rs`).
    #[sqlx(rename = "participant_id")]
    pub subject: String,
    pub run_at: i64,
    pub attempts: i64,
}

impl Store {
    /// Schedules (or reschedules) the one job of this kind for `subject`.
    pub async fn schedule_job(
        &self,
        kind: &str,
        subject: &str,
        run_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, participant_id, run_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind, participant_id) DO UPDATE SET run_at = $4, done_at = NULL, locked_until = 0, attempts = 0",
        )
        .bind(new_id())
        .bind(kind)
        .bind(subject)
        .bind(run_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Takes one due job with a lease. The lease is re-checked by the UPDATE
    /// itself, so two nodes racing for a job cannot both get it.
    pub async fn claim_due_job(
        &self,
        now: i64,
        lease_secs: i64,
    ) -> Result<Option<JobRow>, sqlx::Error> {
        sqlx::query_as(
            "UPDATE jobs SET locked_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $1 AND locked_until <= $1 \
                         ORDER BY run_at LIMIT 1) \
               AND done_at IS NULL AND locked_until <= $1 \
             RETURNING id, kind, participant_id, run_at, attempts",
        )
        .bind(now)
        .bind(now + lease_secs)
        .fetch_optional(self.pool())
        .await
    }

    /// How many jobs are due and not done, and when the oldest was due: the
    /// runner's lag, for the metrics.
    pub async fn due_jobs(&self, now: i64) -> Result<(i64, Option<i64>), sqlx::Error> {
        sqlx::query_as(
            "SELECT COUNT(*), MIN(run_at) FROM jobs WHERE done_at IS NULL AND run_at <= $1",
        )
        .bind(now)
        .fetch_one(self.pool())
        .await
    }

    pub async fn finish_job(&self, id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE jobs SET done_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn cancel_jobs_for(&self, subject: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE jobs SET done_at = $2 WHERE participant_id = $1 AND done_at IS NULL")
            .bind(subject)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

impl Store {
    pub async fn cancel_job(&self, kind: &str, subject: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE jobs SET done_at = $3 WHERE kind = $1 AND participant_id = $2 AND done_at IS NULL")
            .bind(kind)
            .bind(subject)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
