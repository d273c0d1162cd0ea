//! `room_notices`: changes made outside a room, for rooms on other nodes.

use sqlx::FromRow;

use super::Store;
use crate::ids::{AccountId, SessionId};

#[derive(Clone, Debug, FromRow)]
pub struct RoomNoticeRow {
    pub id: i64,
    pub node_id: String,
    pub kind: String,
    pub session_id: Option<SessionId>,
    pub owner_id: Option<AccountId>,
    pub subject: Option<String>,
    pub created_at: i64,
}

impl Store {
    pub async fn add_room_notice(&self, n: &RoomNoticeRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO room_notices (node_id, kind, session_id, owner_id, subject, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&n.node_id)
        .bind(&n.kind)
        .bind(&n.session_id)
        .bind(&n.owner_id)
        .bind(&n.subject)
        .bind(n.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The newest notice's id (0 when there is none): a node starting now
    /// has no room that older notices could concern.
    pub async fn last_room_notice(&self) -> Result<i64, sqlx::Error> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM room_notices")
            .fetch_one(self.pool())
            .await?;
        Ok(last.unwrap_or(0))
    }

    /// Notices after `after` written by other nodes than `node_id`, oldest first.
    pub async fn room_notices_after(
        &self,
        after: i64,
        node_id: &str,
    ) -> Result<Vec<RoomNoticeRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, node_id, kind, session_id, owner_id, subject, created_at \
             FROM room_notices WHERE id > $1 AND node_id <> $2 ORDER BY id LIMIT 500",
        )
        .bind(after)
        .bind(node_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn purge_room_notices(&self, before: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM room_notices WHERE created_at < $1")
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
