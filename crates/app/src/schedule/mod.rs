//! Scheduled video sessions: 1:1 or group, optionally weekly, with their
//! invited clients. Titles and notes are sealed like client data.

pub mod ics;
pub mod invitations;
mod plan;
pub mod view;

pub use plan::{
    local_to_utc, parse_duration, parse_time_zone, Kind, Plan, MAX_GROUP_CLIENTS,
    MAX_WEEKLY_OCCURRENCES,
};
pub use view::{short_local, ParticipantView, SessionView};

use plan::{check_participant_count, check_text};
use view::view;

use chrono::{DateTime, Utc};
use regroup_vault::{DataKey, FieldContext};

use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::auth::tokens::{hash_token, new_token};
use crate::error::{AppError, AppResult};
use crate::ids::{AccountId, ClientId, ParticipantId, SessionId};
use crate::state::AppState;
use crate::store::{new_id, Account, ParticipantRow, SessionRow};
use crate::store::{InvitationStatus, SessionStatus};

/// Every id must be one of the owner's clients. The message is the same for
/// an id that does not exist and one that belongs to someone else.
async fn check_clients_are_owned(
    state: &AppState,
    owner: &Account,
    ids: &[ClientId],
) -> AppResult<()> {
    for id in ids {
        if state.store.client_of(&owner.id, id).await?.is_none() {
            return Err(AppError::invalid(
                "client_ids",
                "One or more of these clients are not among your clients.",
            ));
        }
    }
    Ok(())
}

async fn trace(
    state: &AppState,
    owner: &Account,
    action: Action,
    session_id: &SessionId,
) -> AppResult<()> {
    audit::record_now(
        state,
        AuditEvent::new(Actor::account(owner), action).target(TargetKind::VideoSession, session_id),
    )
    .await
}

pub fn seal_ctx<'a>(owner: &'a str, column: &'a str, row_id: &'a str) -> FieldContext<'a> {
    FieldContext {
        owner,
        table: "video_sessions",
        column,
        row_id,
    }
}

pub fn token_ctx<'a>(owner: &'a str, participant_id: &'a str) -> FieldContext<'a> {
    FieldContext {
        owner,
        table: "session_participants",
        column: "token",
        row_id: participant_id,
    }
}

fn new_participant(
    key: &DataKey,
    owner: &AccountId,
    session_id: &SessionId,
    client_id: &ClientId,
) -> ParticipantRow {
    let id = ParticipantId::new();
    let token = new_token();
    ParticipantRow {
        token_hash: hash_token(&token),
        token_sealed: key.seal_str(&token_ctx(owner, &id), &token),
        id,
        session_id: session_id.clone(),
        client_id: client_id.clone(),
        status: InvitationStatus::Pending,
        sent_at: None,
        opened_at: None,
        revoked_at: None,
    }
}

/// Schedules the session (or weekly series) and invites its clients.
/// Returns the sessions created, first one first.
pub async fn create(state: &AppState, owner: &Account, plan: Plan) -> AppResult<Vec<SessionView>> {
    check_clients_are_owned(state, owner, &plan.client_ids).await?;
    let key = state.keys.data_key(&owner.id).await?;
    let now = state.clock.unix();
    let series_id = (plan.weekly_occurrences > 1).then(new_id);
    let mut created = Vec::new();
    for week in 0..plan.weekly_occurrences {
        let id = SessionId::new();
        let row = SessionRow {
            owner_id: owner.id.clone(),
            series_id: series_id.clone(),
            kind: plan.kind,
            title_sealed: key.seal_str(&seal_ctx(&owner.id, "title", &id), &plan.title),
            notes_sealed: key.seal_str(&seal_ctx(&owner.id, "notes", &id), &plan.notes),
            starts_at: (plan.starts_at + chrono::Duration::weeks(week.into())).timestamp(),
            duration_minutes: plan.duration_minutes,
            time_zone: plan.time_zone.name().to_string(),
            status: SessionStatus::Scheduled,
            sequence: 0,
            created_at: now,
            updated_at: now,
            ended_at: None,
            id,
        };
        let participants: Vec<ParticipantRow> = plan
            .client_ids
            .iter()
            .map(|client| new_participant(&key, &owner.id, &row.id, client))
            .collect();
        state.store.insert_session(&row, &participants).await?;
        for p in &participants {
            invitations::plan_mail(state, &row, p).await?;
        }
        tracing::info!(session = %row.id, "session scheduled");
        trace(state, owner, Action::SessionCreated, &row.id).await?;
        created.push(row);
    }
    let mut views = Vec::with_capacity(created.len());
    for row in &created {
        views.push(view(state, &key, row).await?);
    }
    Ok(views)
}

/// The owner's sessions starting in `[from, to)`.
pub async fn list(
    state: &AppState,
    owner: &Account,
    from: i64,
    to: i64,
) -> AppResult<Vec<SessionView>> {
    let rows = state.store.sessions_of(&owner.id, from, to).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let key = state
        .keys
        .existing_key(&owner.id)
        .await?
        .ok_or_else(crate::clients::unreadable)?;
    let mut views = Vec::with_capacity(rows.len());
    for row in &rows {
        views.push(view(state, &key, row).await?);
    }
    Ok(views)
}

async fn owned(
    state: &AppState,
    owner: &Account,
    id: &SessionId,
) -> AppResult<(SessionRow, std::sync::Arc<DataKey>)> {
    let row = state
        .store
        .session_of(&owner.id, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let key = state
        .keys
        .existing_key(&owner.id)
        .await?
        .ok_or_else(crate::clients::unreadable)?;
    Ok((row, key))
}

/// One session with its sealed title and notes opened; the read is audited
/// like a client record's, since the therapist may write PHI there.
pub async fn get(state: &AppState, owner: &Account, id: &SessionId) -> AppResult<SessionView> {
    let (row, key) = owned(state, owner, id).await?;
    let view = view(state, &key, &row).await?;
    trace(state, owner, Action::SessionRead, id).await?;
    Ok(view)
}

/// A change to a scheduled session; `None` keeps a field.
#[derive(Default)]
pub struct Change {
    pub title: Option<String>,
    pub notes: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i64>,
    pub time_zone: Option<String>,
    pub client_ids: Option<Vec<ClientId>>,
}

/// Applies a change. Clients whose invitation is affected are mailed: new
/// ones get an invitation, removed ones a cancellation, and everyone an
/// update when the time moves.
pub async fn update(
    state: &AppState,
    owner: &Account,
    id: &SessionId,
    change: Change,
) -> AppResult<SessionView> {
    let (mut row, key) = owned(state, owner, id).await?;
    if row.is_cancelled() {
        return Err(AppError::conflict(
            "session_cancelled",
            "status",
            "This session was cancelled and cannot be changed.",
        ));
    }
    let now = state.clock.unix();
    let title = match &change.title {
        Some(t) => Some(check_text("title", t, 200)?).filter(|t| !t.is_empty()),
        None => None,
    };
    let notes = change
        .notes
        .as_deref()
        .map(|n| check_text("notes", n, 5000))
        .transpose()?;
    if let Some(starts_at) = change.starts_at {
        let now = DateTime::from_timestamp(now, 0).unwrap_or_default();
        plan::check_start(starts_at, now)?;
    }
    let duration = change.duration_minutes.map(parse_duration).transpose()?;
    let time_zone = change
        .time_zone
        .as_deref()
        .map(parse_time_zone)
        .transpose()?;
    let participants = state.store.participants_of(&row.id).await?;
    let active: Vec<&ParticipantRow> = participants
        .iter()
        .filter(|p| p.status != InvitationStatus::Revoked)
        .collect();
    let (added, removed) = match &change.client_ids {
        Some(ids) => {
            let mut ids = ids.clone();
            ids.sort();
            ids.dedup();
            check_participant_count(row.kind, ids.len())?;
            check_clients_are_owned(state, owner, &ids).await?;
            let added: Vec<ClientId> = ids
                .iter()
                .filter(|id| !active.iter().any(|p| &p.client_id == *id))
                .cloned()
                .collect();
            let removed: Vec<ParticipantRow> = active
                .iter()
                .filter(|p| !ids.contains(&p.client_id))
                .map(|p| (*p).clone())
                .collect();
            (added, removed)
        }
        None => (Vec::new(), Vec::new()),
    };

    let time_moved = change
        .starts_at
        .is_some_and(|s| s.timestamp() != row.starts_at)
        || duration.is_some_and(|d| d != row.duration_minutes);
    if let Some(t) = &title {
        row.title_sealed = key.seal_str(&seal_ctx(&owner.id, "title", &row.id), t);
    }
    if let Some(n) = &notes {
        row.notes_sealed = key.seal_str(&seal_ctx(&owner.id, "notes", &row.id), n);
    }
    if let Some(s) = change.starts_at {
        row.starts_at = s.timestamp();
    }
    if let Some(d) = duration {
        row.duration_minutes = d;
    }
    if let Some(tz) = time_zone {
        row.time_zone = tz.name().to_string();
    }
    if time_moved || !added.is_empty() || !removed.is_empty() {
        row.sequence += 1;
    }
    row.updated_at = now;
    state.store.update_session(&row).await?;
    // A live room closes at once if the new time no longer covers now.
    crate::room::across::tell(state, crate::room::across::Outside::Session(&row)).await;

    for p in &removed {
        invitations::revoke(state, &row, p, true).await?;
    }
    for client in &added {
        let p = new_participant(&key, &owner.id, &row.id, client);
        if let Err(e) = state.store.add_participant(&p).await {
            // A client removed earlier and now added again: give them a fresh row.
            if crate::store::is_unique_violation(&e) {
                state.store.delete_participant(&row.id, client).await?;
                state.store.add_participant(&p).await?;
            } else {
                return Err(e.into());
            }
        }
        invitations::plan_mail(state, &row, &p).await?;
    }
    if time_moved {
        for p in participants.iter().filter(|p| {
            p.status != InvitationStatus::Revoked && !removed.iter().any(|r| r.id == p.id)
        }) {
            invitations::send_update(state, &row, p).await?;
            invitations::schedule_reminders(state, &row, p).await?;
        }
    }
    trace(state, owner, Action::SessionUpdated, &row.id).await?;
    view(state, &key, &row).await
}

/// Cancels the session: links stop working and every client is told.
pub async fn cancel(state: &AppState, owner: &Account, id: &SessionId) -> AppResult<()> {
    let (mut row, _) = owned(state, owner, id).await?;
    if row.is_cancelled() {
        return Ok(());
    }
    row.status = SessionStatus::Cancelled;
    row.sequence += 1;
    row.updated_at = state.clock.unix();
    state.store.update_session(&row).await?;
    // First, so that a live room tells everyone "cancelled" rather than
    // "removed" one by one.
    crate::room::across::tell(state, crate::room::across::Outside::Session(&row)).await;
    for p in state.store.participants_of(&row.id).await? {
        if p.status != InvitationStatus::Revoked {
            invitations::revoke(state, &row, &p, true).await?;
        }
    }
    tracing::info!(session = %row.id, "session cancelled");
    trace(state, owner, Action::SessionCancelled, &row.id).await?;
    Ok(())
}

/// Sends the invitation again now.
pub async fn resend(
    state: &AppState,
    owner: &Account,
    id: &SessionId,
    client_id: &ClientId,
) -> AppResult<()> {
    let (row, _) = owned(state, owner, id).await?;
    if row.is_cancelled() {
        return Err(AppError::conflict(
            "session_cancelled",
            "status",
            "This session was cancelled.",
        ));
    }
    let participant = state
        .store
        .participants_of(&row.id)
        .await?
        .into_iter()
        .find(|p| p.client_id == *client_id && p.status != InvitationStatus::Revoked)
        .ok_or_else(AppError::not_found)?;
    invitations::send(state, &row, &participant, invitations::Mail::Invitation).await
}
