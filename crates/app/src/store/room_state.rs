//! The part of an open room that outlives its node (see migration 0022):
//! admitted clients and the lock.

use super::Store;
use crate::ids::SessionId;

/// What an earlier node's room left behind.
#[derive(Debug, Default)]
pub struct KeptRoom {
    pub locked: bool,
    pub admitted: Vec<String>,
}

impl Store {
    pub async fn kept_room(&self, session_id: &SessionId) -> Result<KeptRoom, sqlx::Error> {
        let admitted = sqlx::query_scalar(
            "SELECT member FROM room_admissions WHERE session_id = $1 ORDER BY admitted_at",
        )
        .bind(session_id)
        .fetch_all(self.pool())
        .await?;
        let locked: Option<String> =
            sqlx::query_scalar("SELECT session_id FROM room_locks WHERE session_id = $1")
                .bind(session_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(KeptRoom {
            locked: locked.is_some(),
            admitted,
        })
    }

    pub async fn keep_admission(
        &self,
        session_id: &SessionId,
        member: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO room_admissions (session_id, member, admitted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id, member) DO NOTHING",
        )
        .bind(session_id)
        .bind(member)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn forget_admission(
        &self,
        session_id: &SessionId,
        member: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM room_admissions WHERE session_id = $1 AND member = $2")
            .bind(session_id)
            .bind(member)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn keep_lock(&self, session_id: &SessionId, locked: bool) -> Result<(), sqlx::Error> {
        let sql = if locked {
            "INSERT INTO room_locks (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING"
        } else {
            "DELETE FROM room_locks WHERE session_id = $1"
        };
        sqlx::query(sql)
            .bind(session_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The room closed normally: nothing of it is kept.
    pub async fn forget_room(&self, session_id: &SessionId) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM room_admissions WHERE session_id = $1")
            .bind(session_id)
            .execute(self.pool())
            .await?;
        sqlx::query("DELETE FROM room_locks WHERE session_id = $1")
            .bind(session_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
