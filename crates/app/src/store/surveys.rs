//! Satisfaction survey answers (anonymous rows), the used-ticket nonces, and
//! each therapist's running totals. See `crate::surveys` for the rules.

use sqlx::FromRow;

use super::{detached, Store};
use crate::ids::AccountId;

/// One answer as stored: nothing in it names a person, a session or a time
/// finer than the week.
#[derive(Clone, Debug)]
pub struct SurveyAnswer {
    pub week: String,
    pub kind: String,
    pub size_bucket: String,
    pub role: String,
    pub quality: i64,
    pub experience: i64,
    pub comment: Option<String>,
}

/// Answers of one week and session kind, summed.
#[derive(Clone, Debug, FromRow)]
pub struct SurveyCell {
    pub week: String,
    pub kind: String,
    pub answers: i64,
    pub quality_sum: i64,
    pub experience_sum: i64,
    pub comments: i64,
}

/// A therapist's totals as they may see them (the pending part is left out).
#[derive(Clone, Debug, Default, FromRow)]
pub struct SurveyTotals {
    pub answers: i64,
    pub quality_sum: i64,
    pub experience_sum: i64,
}

/// Answers wait in a therapist's pending totals until this many have come.
pub const TOTALS_STEP: i64 = 5;

impl Store {
    /// Records the answer of the ticket with `nonce`, and adds it to
    /// `therapist`'s totals when given; all or nothing. False (and nothing
    /// stored) when the nonce was used before.
    pub async fn record_survey_answer(
        &self,
        answer: &SurveyAnswer,
        nonce: &str,
        nonce_expires_at: i64,
        therapist: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let (pool, answer, nonce, therapist) = (
            self.pool().clone(),
            answer.clone(),
            nonce.to_owned(),
            therapist.map(str::to_owned),
        );
        detached(self.slots(), async move {
            let mut tx = pool.begin().await?;
            // The nonce goes first: of any number of submissions of one
            // ticket, only the one that inserts it goes on.
            let fresh = sqlx::query(
                "INSERT INTO survey_tickets_used (nonce, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (nonce) DO NOTHING",
            )
            .bind(&nonce)
            .bind(nonce_expires_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !fresh {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO survey_answers (week, kind, size_bucket, role, quality, experience, comment) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&answer.week)
            .bind(&answer.kind)
            .bind(&answer.size_bucket)
            .bind(&answer.role)
            .bind(answer.quality)
            .bind(answer.experience)
            .bind(&answer.comment)
            .execute(&mut *tx)
            .await?;
            if let Some(account) = &therapist {
                // An account deleted since the session simply gets no totals.
                sqlx::query(
                    "INSERT INTO survey_therapist_totals \
                       (account_id, pending_answers, pending_quality_sum, pending_experience_sum) \
                     SELECT id, 1, $2, $3 FROM accounts WHERE id = $1 \
                     ON CONFLICT (account_id) DO UPDATE SET \
                       pending_answers = survey_therapist_totals.pending_answers + 1, \
                       pending_quality_sum = survey_therapist_totals.pending_quality_sum + excluded.pending_quality_sum, \
                       pending_experience_sum = survey_therapist_totals.pending_experience_sum + excluded.pending_experience_sum",
                )
                .bind(account)
                .bind(answer.quality)
                .bind(answer.experience)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE survey_therapist_totals SET \
                       answers = answers + pending_answers, \
                       quality_sum = quality_sum + pending_quality_sum, \
                       experience_sum = experience_sum + pending_experience_sum, \
                       pending_answers = 0, pending_quality_sum = 0, pending_experience_sum = 0 \
                     WHERE account_id = $1 AND pending_answers >= $2",
                )
                .bind(account)
                .bind(TOTALS_STEP)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    /// Whether a ticket with `nonce` was used: a read, so that replays of a
    /// used ticket are refused without taking the write lock.
    pub async fn survey_ticket_used(&self, nonce: &str) -> Result<bool, sqlx::Error> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT nonce FROM survey_tickets_used WHERE nonce = $1")
                .bind(nonce)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    /// Forgets nonces of tickets that expired before `now`: an expired
    /// ticket is refused for its date alone.
    pub async fn purge_used_survey_tickets(&self, now: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM survey_tickets_used WHERE expires_at <= $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Sums per ISO week and session kind, for weeks from `first_week` on
    /// (`YYYY-Www` strings sort as the weeks do), newest first.
    pub async fn survey_cells(&self, first_week: &str) -> Result<Vec<SurveyCell>, sqlx::Error> {
        sqlx::query_as(
            "SELECT week, kind, COUNT(*) AS answers, \
               CAST(SUM(quality) AS BIGINT) AS quality_sum, \
               CAST(SUM(experience) AS BIGINT) AS experience_sum, \
               COUNT(comment) AS comments \
             FROM survey_answers WHERE week >= $1 \
             GROUP BY week, kind ORDER BY week DESC, kind",
        )
        .bind(first_week)
        .fetch_all(self.pool())
        .await
    }

    /// The comments of one week, in alphabetical order: no order of
    /// arrival, which could hint at who wrote what.
    pub async fn survey_comments(&self, week: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT comment FROM survey_answers WHERE week = $1 AND comment IS NOT NULL \
             ORDER BY comment",
        )
        .bind(week)
        .fetch_all(self.pool())
        .await
    }

    /// The totals `account_id` may see (zero when none came yet).
    pub async fn survey_totals_of(
        &self,
        account_id: &AccountId,
    ) -> Result<SurveyTotals, sqlx::Error> {
        let row: Option<SurveyTotals> = sqlx::query_as(
            "SELECT answers, quality_sum, experience_sum FROM survey_therapist_totals \
             WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.unwrap_or_default())
    }
}
