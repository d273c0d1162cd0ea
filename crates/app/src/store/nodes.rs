//! The `nodes` table: which servers share this database, alive or not.

use sqlx::FromRow;

use super::Store;

/// A node whose row is older than this is dead.
pub const NODE_TIMEOUT_SECS: i64 = 10;

#[derive(Clone, Debug, FromRow)]
pub struct NodeRow {
    pub id: String,
    pub url: String,
    pub started_at: i64,
    pub beat_at: i64,
    /// Stored as 0/1 so both backends read it the same way.
    pub draining: i64,
    pub rooms: i64,
    pub participants: i64,
}

impl NodeRow {
    pub fn is_draining(&self) -> bool {
        self.draining != 0
    }

    pub fn is_alive(&self, now: i64) -> bool {
        self.beat_at > now - NODE_TIMEOUT_SECS
    }
}

/// What a node reports about itself on each beat.
pub struct Beat<'a> {
    pub id: &'a str,
    pub url: &'a str,
    pub started_at: i64,
    pub now: i64,
    pub draining: bool,
    pub rooms: usize,
    pub participants: usize,
}

const COLUMNS: &str = "id, url, started_at, beat_at, draining, rooms, participants";

impl Store {
    /// Writes this node's row and answers whether it must drain: once set,
    /// by the node or by `regroup node drain`, the flag stays for as long as
    /// this run of the node lasts (a restart, with a new `started_at`,
    /// clears it).
    pub async fn node_beat(&self, beat: &Beat<'_>) -> Result<bool, sqlx::Error> {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        sqlx::query_scalar(
            "INSERT INTO nodes (id, url, started_at, beat_at, draining, rooms, participants) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET \
             url = excluded.url, beat_at = excluded.beat_at, \
             draining = CASE WHEN nodes.started_at = excluded.started_at \
                 AND nodes.draining = 1 THEN 1 ELSE excluded.draining END, \
             started_at = excluded.started_at, \
             rooms = excluded.rooms, participants = excluded.participants \
             RETURNING draining",
        )
        .bind(beat.id)
        .bind(beat.url)
        .bind(beat.started_at)
        .bind(beat.now)
        .bind(i64::from(beat.draining))
        .bind(count(beat.rooms))
        .bind(count(beat.participants))
        .fetch_one(self.pool())
        .await
        .map(|draining: i64| draining != 0)
    }

    pub async fn nodes(&self) -> Result<Vec<NodeRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM nodes ORDER BY id"))
            .fetch_all(self.pool())
            .await
    }

    /// Asks a node to drain; false when no node has that id.
    pub async fn request_drain(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE nodes SET draining = 1 WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A node that stops cleanly takes its row away.
    pub async fn node_gone(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM nodes WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
