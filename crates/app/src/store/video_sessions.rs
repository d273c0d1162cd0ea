//! Video sessions and the clients invited to them (participants).

use sqlx::FromRow;

use super::{detached, Store, UnknownValue};
use crate::ids::{AccountId, ClientId, ParticipantId, SessionId};

/// One-to-one or group (stored as `individual` / `group`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Individual,
    Group,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Individual => "individual",
            Kind::Group => "group",
        }
    }
}

impl TryFrom<String> for Kind {
    type Error = UnknownValue;

    fn try_from(raw: String) -> Result<Self, UnknownValue> {
        match raw.as_str() {
            "individual" => Ok(Kind::Individual),
            "group" => Ok(Kind::Group),
            _ => Err(UnknownValue("kind", raw)),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SessionStatus {
    Scheduled,
    Cancelled,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Scheduled => "scheduled",
            SessionStatus::Cancelled => "cancelled",
        }
    }
}

impl TryFrom<String> for SessionStatus {
    type Error = UnknownValue;

    fn try_from(raw: String) -> Result<Self, UnknownValue> {
        match raw.as_str() {
            "scheduled" => Ok(SessionStatus::Scheduled),
            "cancelled" => Ok(SessionStatus::Cancelled),
            _ => Err(UnknownValue("status", raw)),
        }
    }
}

/// Where an invitation stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum InvitationStatus {
    Pending,
    Sent,
    Opened,
    Revoked,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Sent => "sent",
            InvitationStatus::Opened => "opened",
            InvitationStatus::Revoked => "revoked",
        }
    }
}

impl TryFrom<String> for InvitationStatus {
    type Error = UnknownValue;

    fn try_from(raw: String) -> Result<Self, UnknownValue> {
        match raw.as_str() {
            "pending" => Ok(InvitationStatus::Pending),
            "sent" => Ok(InvitationStatus::Sent),
            "opened" => Ok(InvitationStatus::Opened),
            "revoked" => Ok(InvitationStatus::Revoked),
            _ => Err(UnknownValue("status", raw)),
        }
    }
}

#[derive(Clone, FromRow)]
pub struct SessionRow {
    pub id: SessionId,
    pub owner_id: AccountId,
    pub series_id: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: Kind,
    pub title_sealed: String,
    pub notes_sealed: String,
    pub starts_at: i64,
    pub duration_minutes: i64,
    pub time_zone: String,
    #[sqlx(try_from = "String")]
    pub status: SessionStatus,
    pub sequence: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set when the therapist ended the room.
    pub ended_at: Option<i64>,
}

impl SessionRow {
    pub fn ends_at(&self) -> i64 {
        self.starts_at + self.duration_minutes * 60
    }

    pub fn is_cancelled(&self) -> bool {
        self.status == SessionStatus::Cancelled
    }

    pub fn is_group(&self) -> bool {
        self.kind == Kind::Group
    }
}

#[derive(Clone, FromRow)]
pub struct ParticipantRow {
    pub id: ParticipantId,
    pub session_id: SessionId,
    pub client_id: ClientId,
    pub token_hash: String,
    pub token_sealed: String,
    #[sqlx(try_from = "String")]
    pub status: InvitationStatus,
    pub sent_at: Option<i64>,
    pub opened_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const SESSION_COLUMNS: &str =
    "id, owner_id, series_id, kind, title_sealed, notes_sealed, starts_at, \
    duration_minutes, time_zone, status, sequence, created_at, updated_at, ended_at";
const PARTICIPANT_COLUMNS: &str =
    "id, session_id, client_id, token_hash, token_sealed, status, sent_at, opened_at, revoked_at";

impl Store {
    /// Stores a session with its participants, all or nothing.
    pub async fn insert_session(
        &self,
        row: &SessionRow,
        participants: &[ParticipantRow],
    ) -> Result<(), sqlx::Error> {
        let (pool, row, participants) = (self.pool().clone(), row.clone(), participants.to_vec());
        detached(self.slots(), async move {
            let mut tx = pool.begin().await?;
            sqlx::query(&format!(
                "INSERT INTO video_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(&row.id)
            .bind(&row.owner_id)
            .bind(&row.series_id)
            .bind(row.kind.as_str())
            .bind(&row.title_sealed)
            .bind(&row.notes_sealed)
            .bind(row.starts_at)
            .bind(row.duration_minutes)
            .bind(&row.time_zone)
            .bind(row.status.as_str())
            .bind(row.sequence)
            .bind(row.created_at)
            .bind(row.updated_at)
            .bind(row.ended_at)
            .execute(&mut *tx)
            .await?;
            for p in &participants {
                insert_participant(&mut tx, p).await?;
            }
            tx.commit().await
        })
        .await
    }

    pub async fn add_participant(&self, p: &ParticipantRow) -> Result<(), sqlx::Error> {
        let (pool, p) = (self.pool().clone(), p.clone());
        detached(self.slots(), async move {
            let mut tx = pool.begin().await?;
            insert_participant(&mut tx, &p).await?;
            tx.commit().await
        })
        .await
    }

    /// The owner's sessions starting in `[from, to)`, by start time.
    pub async fn sessions_of(
        &self,
        owner_id: &AccountId,
        from: i64,
        to: i64,
    ) -> Result<Vec<SessionRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM video_sessions WHERE owner_id = $1 AND starts_at >= $2 AND starts_at < $3 \
             ORDER BY starts_at"
        ))
        .bind(owner_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
    }

    pub async fn session_of(
        &self,
        owner_id: &AccountId,
        id: &SessionId,
    ) -> Result<Option<SessionRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM video_sessions WHERE owner_id = $1 AND id = $2"
        ))
        .bind(owner_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    /// A session by id alone; only for code that already proved access (a join token, a job).
    pub async fn session_by_id(&self, id: &SessionId) -> Result<Option<SessionRow>, sqlx::Error> {
        self.row_where("video_sessions", SESSION_COLUMNS, "id", id)
            .await
    }

    pub async fn participants_of(
        &self,
        session_id: &SessionId,
    ) -> Result<Vec<ParticipantRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {PARTICIPANT_COLUMNS} FROM session_participants WHERE session_id = $1"
        ))
        .bind(session_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn participant_by_id(
        &self,
        id: &ParticipantId,
    ) -> Result<Option<ParticipantRow>, sqlx::Error> {
        self.row_where("session_participants", PARTICIPANT_COLUMNS, "id", id)
            .await
    }

    pub async fn participant_by_token_hash(
        &self,
        hash: &str,
    ) -> Result<Option<ParticipantRow>, sqlx::Error> {
        self.row_where(
            "session_participants",
            PARTICIPANT_COLUMNS,
            "token_hash",
            hash,
        )
        .await
    }

    pub async fn update_session(&self, row: &SessionRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE video_sessions SET title_sealed = $3, notes_sealed = $4, starts_at = $5, duration_minutes = $6, \
             time_zone = $7, status = $8, sequence = $9, updated_at = $10 WHERE owner_id = $1 AND id = $2",
        )
        .bind(&row.owner_id)
        .bind(&row.id)
        .bind(&row.title_sealed)
        .bind(&row.notes_sealed)
        .bind(row.starts_at)
        .bind(row.duration_minutes)
        .bind(&row.time_zone)
        .bind(row.status.as_str())
        .bind(row.sequence)
        .bind(row.updated_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Closes the session's room for good (the first end counts).
    pub async fn mark_session_ended(&self, id: &SessionId, at: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE video_sessions SET ended_at = COALESCE(ended_at, $2) WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The owner's next session that still lies ahead: neither cancelled nor
    /// ended, starting at or after `from`, other than `except`. It bounds how
    /// far a running session may be extended.
    pub async fn next_session_of(
        &self,
        owner_id: &AccountId,
        except: &SessionId,
        from: i64,
    ) -> Result<Option<SessionRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM video_sessions WHERE owner_id = $1 AND id <> $2 \
             AND starts_at >= $3 AND status = 'scheduled' AND ended_at IS NULL \
             ORDER BY starts_at LIMIT 1"
        ))
        .bind(owner_id)
        .bind(except)
        .bind(from)
        .fetch_optional(self.pool())
        .await
    }

    /// Lengthens a session by `minutes`, only if it still lasts `expected`
    /// minutes: a change made meanwhile (an edit, another extension) wins and
    /// this one reports false instead of adding on top of it. The sequence
    /// moves on so calendar feeds pick up the new end.
    pub async fn extend_session(
        &self,
        owner_id: &AccountId,
        id: &SessionId,
        expected: i64,
        minutes: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE video_sessions SET duration_minutes = duration_minutes + $4, \
             sequence = sequence + 1, updated_at = $5 \
             WHERE owner_id = $1 AND id = $2 AND duration_minutes = $3 AND status = 'scheduled'",
        )
        .bind(owner_id)
        .bind(id)
        .bind(expected)
        .bind(minutes)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a (revoked) participant row so the client can be invited afresh.
    pub async fn delete_participant(
        &self,
        session_id: &SessionId,
        client_id: &ClientId,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM session_participants WHERE session_id = $1 AND client_id = $2")
            .bind(session_id)
            .bind(client_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records what happened to an invitation (sent, opened, revoked) and when.
    pub async fn mark_participant(
        &self,
        id: &ParticipantId,
        status: InvitationStatus,
        at: i64,
    ) -> Result<(), sqlx::Error> {
        let column = match status {
            InvitationStatus::Sent => "sent_at",
            InvitationStatus::Opened => "opened_at",
            InvitationStatus::Pending | InvitationStatus::Revoked => "revoked_at",
        };
        // An opened or revoked invitation does not fall back to "sent" on a reminder.
        sqlx::query(&format!(
            "UPDATE session_participants SET {column} = $3, status = CASE \
             WHEN status = 'revoked' THEN status \
             WHEN status = 'opened' AND $2 = 'sent' THEN status ELSE $2 END WHERE id = $1"
        ))
        .bind(id)
        .bind(status.as_str())
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

async fn insert_participant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    p: &ParticipantRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO session_participants ({PARTICIPANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&p.id)
    .bind(&p.session_id)
    .bind(&p.client_id)
    .bind(&p.token_hash)
    .bind(&p.token_sealed)
    .bind(p.status.as_str())
    .bind(p.sent_at)
    .bind(p.opened_at)
    .bind(p.revoked_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_and_statuses_are_errors_not_defaults() {
        assert_eq!(Kind::try_from("group".to_owned()).unwrap(), Kind::Group);
        assert!(Kind::try_from("party".to_owned()).is_err());
        assert_eq!(
            SessionStatus::try_from("cancelled".to_owned()).unwrap(),
            SessionStatus::Cancelled
        );
        assert!(SessionStatus::try_from("done".to_owned()).is_err());
        for s in [
            InvitationStatus::Pending,
            InvitationStatus::Sent,
            InvitationStatus::Opened,
            InvitationStatus::Revoked,
        ] {
            assert_eq!(
                InvitationStatus::try_from(s.as_str().to_owned()).unwrap(),
                s
            );
        }
        assert!(InvitationStatus::try_from("lost".to_owned()).is_err());
    }
}
