//! Sessions as the therapist sees them: opened, with their invitations.

use chrono::DateTime;
use chrono_tz::Tz;
use regroup_vault::DataKey;
use serde::Serialize;

use super::seal_ctx;
use crate::error::AppResult;
use crate::ids::{ClientId, SessionId};
use crate::state::AppState;
use crate::store::SessionRow;

/// A session as the therapist sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: SessionId,
    pub kind: String,
    pub title: String,
    pub notes: String,
    pub starts_at: String,
    pub duration_minutes: i64,
    pub time_zone: String,
    pub status: String,
    pub series_id: Option<String>,
    /// The therapist's page for the room.
    pub room_url: String,
    pub participants: Vec<ParticipantView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ParticipantView {
    pub client_id: ClientId,
    /// pending, sent, opened or revoked
    pub invitation_status: String,
}

/// The therapist's room page of a session (it needs their sign-in).
pub fn room_url(state: &AppState, session_id: &SessionId) -> String {
    state.settings.link(&format!("/sessions/{session_id}/room"))
}

pub(super) async fn view(
    state: &AppState,
    key: &DataKey,
    row: &SessionRow,
) -> AppResult<SessionView> {
    let open = |column: &str, sealed: &str| {
        key.open_str(&seal_ctx(&row.owner_id, column, &row.id), sealed)
            .map_err(|_| crate::clients::unreadable())
    };
    let participants = state.store.participants_of(&row.id).await?;
    Ok(SessionView {
        id: row.id.clone(),
        kind: row.kind.as_str().into(),
        title: open("title", &row.title_sealed)?,
        notes: open("notes", &row.notes_sealed)?,
        starts_at: crate::clock::rfc3339(row.starts_at),
        duration_minutes: row.duration_minutes,
        time_zone: row.time_zone.clone(),
        status: row.status.as_str().into(),
        series_id: row.series_id.clone(),
        room_url: room_url(state, &row.id),
        participants: participants
            .into_iter()
            .map(|p| ParticipantView {
                client_id: p.client_id,
                invitation_status: p.status.as_str().into(),
            })
            .collect(),
    })
}

/// "Tue, Dec 1 · 9:00 AM" in the given zone, for lists.
pub fn short_local(t: i64, tz: &str) -> String {
    let tz: Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .format("%a, %b %-d · %-I:%M %p")
        .to_string()
}
