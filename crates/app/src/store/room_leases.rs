//! `room_leases`: which node holds each open room, for how long yet.

use super::Store;
use crate::ids::SessionId;

/// A lease lasts this long past its last renewal (the heartbeat renews it
/// every 2 s), as long as a node counts as alive without a beat.
pub const LEASE_SECS: i64 = super::NODE_TIMEOUT_SECS;

impl Store {
    /// Takes (or keeps) the lease of `session_id` for `node_id`, unless
    /// another node holds one that has not lapsed. Returns that node's id
    /// and URL when it does.
    pub async fn claim_room(
        &self,
        session_id: &SessionId,
        node_id: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        let taken: Option<String> = sqlx::query_scalar(
            "INSERT INTO room_leases (session_id, node_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id) DO UPDATE SET node_id = excluded.node_id, \
             expires_at = excluded.expires_at \
             WHERE room_leases.node_id = excluded.node_id OR room_leases.expires_at <= $4 \
             RETURNING node_id",
        )
        .bind(session_id)
        .bind(node_id)
        .bind(now + LEASE_SECS)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        if taken.is_some() {
            return Ok(None);
        }
        sqlx::query_as(
            "SELECT l.node_id, n.url FROM room_leases l JOIN nodes n ON n.id = l.node_id \
             WHERE l.session_id = $1",
        )
        .bind(session_id)
        .fetch_optional(self.pool())
        .await
    }

    /// The node holding a live lease on `session_id`, with its URL.
    pub async fn room_holder(
        &self,
        session_id: &SessionId,
        now: i64,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT l.node_id, n.url FROM room_leases l JOIN nodes n ON n.id = l.node_id \
             WHERE l.session_id = $1 AND l.expires_at > $2",
        )
        .bind(session_id)
        .bind(now)
        .fetch_optional(self.pool())
        .await
    }

    /// Renews every lease `node_id` holds.
    pub async fn renew_rooms(&self, node_id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE room_leases SET expires_at = $1 WHERE node_id = $2")
            .bind(now + LEASE_SECS)
            .bind(node_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every lease of `node_id`: at its start, leases of an earlier run.
    pub async fn release_rooms_of(&self, node_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM room_leases WHERE node_id = $1")
            .bind(node_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The room closed on `node_id`: its lease goes. False when `node_id`
    /// no longer held it (another node took the room over meanwhile).
    pub async fn release_room(
        &self,
        session_id: &SessionId,
        node_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM room_leases WHERE session_id = $1 AND node_id = $2")
            .bind(session_id)
            .bind(node_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
