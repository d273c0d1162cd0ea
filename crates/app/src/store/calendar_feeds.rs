//! Calendar feeds: one per therapist at most, looked up by the secret's hash.

use sqlx::FromRow;

use super::Store;
use crate::ids::AccountId;

#[derive(Clone, FromRow)]
pub struct CalendarFeedRow {
    pub account_id: AccountId,
    pub secret_hash: String,
    /// Stored as 0/1 so both backends read it the same way.
    pub show_titles: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "account_id, secret_hash, show_titles, created_at";

impl Store {
    /// Turns the feed on, or replaces its secret (the old one stops working).
    pub async fn put_calendar_feed(
        &self,
        account_id: &AccountId,
        secret_hash: &str,
        show_titles: bool,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO calendar_feeds (account_id, secret_hash, show_titles, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE SET \
             secret_hash = excluded.secret_hash, show_titles = excluded.show_titles, \
             created_at = excluded.created_at",
        )
        .bind(account_id)
        .bind(secret_hash)
        .bind(i64::from(show_titles))
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn delete_calendar_feed(&self, account_id: &AccountId) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM calendar_feeds WHERE account_id = $1")
            .bind(account_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn calendar_feed_of(
        &self,
        account_id: &AccountId,
    ) -> Result<Option<CalendarFeedRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM calendar_feeds WHERE account_id = $1"
        ))
        .bind(account_id)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn calendar_feed_by_hash(
        &self,
        secret_hash: &str,
    ) -> Result<Option<CalendarFeedRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM calendar_feeds WHERE secret_hash = $1"
        ))
        .bind(secret_hash)
        .fetch_optional(self.pool())
        .await
    }
}
