//! Tracked links in outgoing email, their clicks, and the click-through
//! figures the analytics dashboard shows per campaign.

use sqlx::FromRow;

use super::super::Store;
use crate::ids::AccountId;

#[derive(Clone, Debug, FromRow)]
pub struct TrackedLink {
    pub id: String,
    pub campaign: String,
    pub label: String,
    pub owner_id: Option<AccountId>,
    pub destination: String,
}

impl Store {
    pub async fn insert_tracked_link(
        &self,
        link: &TrackedLink,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO tracked_links (id, campaign, label, owner_id, destination, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&link.id)
        .bind(&link.campaign)
        .bind(&link.label)
        .bind(&link.owner_id)
        .bind(&link.destination)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn tracked_link(&self, id: &str) -> Result<Option<TrackedLink>, sqlx::Error> {
        self.row_where(
            "tracked_links",
            "id, campaign, label, owner_id, destination",
            "id",
            id,
        )
        .await
    }

    pub async fn record_click(
        &self,
        link_id: &str,
        campaign: &str,
        at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO link_clicks (link_id, campaign, at) VALUES ($1, $2, $3)")
            .bind(link_id)
            .bind(campaign)
            .bind(at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Links sent and links clicked at least once, per campaign, in `[from, to)`.
    pub async fn email_clicks(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT l.campaign, COUNT(*), \
               SUM(CASE WHEN EXISTS (SELECT 1 FROM link_clicks c WHERE c.link_id = l.id AND c.at < $2) \
                   THEN 1 ELSE 0 END) \
             FROM tracked_links l WHERE l.created_at >= $1 AND l.created_at < $2 \
             GROUP BY l.campaign ORDER BY COUNT(*) DESC, l.campaign",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
    }
}
