//! Announcements: drafts, the send, who receives them and who opted out.

use sqlx::FromRow;

use super::super::{new_id, Store};
use crate::ids::AccountId;

#[derive(Clone, Debug, FromRow)]
pub struct AnnouncementRow {
    pub id: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub recipients: i64,
}

const ANNOUNCEMENT: &str = "id, subject, body, created_at, sent_at, recipients";

impl Store {
    pub async fn insert_announcement(
        &self,
        subject: &str,
        body: &str,
        by: &str,
        now: i64,
    ) -> Result<String, sqlx::Error> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO announcements (id, subject, body, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(subject)
        .bind(body)
        .bind(by)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    pub async fn announcement(&self, id: &str) -> Result<Option<AnnouncementRow>, sqlx::Error> {
        self.row_where("announcements", ANNOUNCEMENT, "id", id)
            .await
    }

    pub async fn announcements(&self) -> Result<Vec<AnnouncementRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ANNOUNCEMENT} FROM announcements ORDER BY created_at DESC LIMIT 200"
        ))
        .fetch_all(self.pool())
        .await
    }

    /// Marks a draft sent; false when it already was (a double submit).
    pub async fn mark_announcement_sent(
        &self,
        id: &str,
        recipients: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE announcements SET sent_at = $2, recipients = $3 WHERE id = $1 AND sent_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .bind(recipients)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Active, verified therapists who have not opted out of announcements.
    pub async fn announcement_recipients(
        &self,
    ) -> Result<Vec<(AccountId, String, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT a.id, a.name, a.email FROM accounts a \
             WHERE a.role = 'therapist' AND a.status = 'active' AND a.email_verified_at IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM announcement_opt_outs o WHERE o.account_id = a.id) \
             ORDER BY a.created_at",
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn opt_out_of_announcements(
        &self,
        account_id: &AccountId,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO announcement_opt_outs (account_id, opted_out_at) VALUES ($1, $2) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn opted_out_at(&self, account_id: &AccountId) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT opted_out_at FROM announcement_opt_outs WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.pool())
            .await
    }
}
