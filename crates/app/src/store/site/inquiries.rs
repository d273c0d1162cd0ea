//! Privacy inquiries from the contact form, each due an answer by a date.

use sqlx::FromRow;

use super::super::{new_id, Store};

#[derive(Clone, Debug, FromRow)]
pub struct InquiryRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub message: String,
    pub status: String,
    pub created_at: i64,
    pub due_at: i64,
    pub answered_at: Option<i64>,
}

const INQUIRY: &str = "id, name, email, message, status, created_at, due_at, answered_at";

impl Store {
    pub async fn insert_inquiry(
        &self,
        name: &str,
        email: &str,
        message: &str,
        now: i64,
        due_at: i64,
    ) -> Result<String, sqlx::Error> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO privacy_inquiries (id, name, email, message, created_at, due_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(name)
        .bind(email)
        .bind(message)
        .bind(now)
        .bind(due_at)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// Open inquiries first, the soonest (or most overdue) due date first.
    pub async fn inquiries(&self) -> Result<Vec<InquiryRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {INQUIRY} FROM privacy_inquiries \
             ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, due_at, created_at LIMIT 500"
        ))
        .fetch_all(self.pool())
        .await
    }

    pub async fn inquiry(&self, id: &str) -> Result<Option<InquiryRow>, sqlx::Error> {
        self.row_where("privacy_inquiries", INQUIRY, "id", id).await
    }

    pub async fn mark_inquiry_answered(
        &self,
        id: &str,
        by: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE privacy_inquiries SET status = 'answered', answered_at = $2, answered_by = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
