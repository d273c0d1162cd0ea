//! Scheduled video sessions: 1:1 or group, optionally weekly, with their
//! invited clients. Titles and notes are sealed like client data.

pub mod ics;
pub mod invitations;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use regroup_vault::{DataKey, FieldContext};
use serde::Serialize;

use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::auth::tokens::{hash_token, new_token};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{new_id, Account, ParticipantRow, SessionRow};

pub const MAX_GROUP_CLIENTS: usize = 15;
pub const MAX_WEEKLY_OCCURRENCES: u32 = 52;

/// The checked request to schedule a session.
pub struct Plan {
    pub kind: Kind,
    pub title: String,
    pub notes: String,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i64,
    pub time_zone: Tz,
    pub client_ids: Vec<String>,
    pub weekly_occurrences: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Individual,
    Group,
}

impl Kind {
    pub fn parse(raw: &str) -> AppResult<Self> {
        match raw {
            "individual" => Ok(Kind::Individual),
            "group" => Ok(Kind::Group),
            _ => Err(AppError::invalid(
                "kind",
                "Choose \"individual\" or \"group\".",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Individual => "individual",
            Kind::Group => "group",
        }
    }

    fn default_title(self) -> &'static str {
        match self {
            Kind::Individual => "Individual session",
            Kind::Group => "Group session",
        }
    }
}

pub fn parse_time_zone(raw: &str) -> AppResult<Tz> {
    raw.trim().parse::<Tz>().map_err(|_| {
        AppError::invalid(
            "time_zone",
            "Use an IANA time zone such as America/Chicago.",
        )
    })
}

pub fn parse_duration(minutes: i64) -> AppResult<i64> {
    if (15..=240).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(AppError::invalid(
            "duration_minutes",
            "A session lasts from 15 to 240 minutes.",
        ))
    }
}

fn check_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("Use at most {max} characters."),
        ));
    }
    Ok(value.to_string())
}

impl Plan {
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        kind: &str,
        title: Option<&str>,
        notes: Option<&str>,
        starts_at: DateTime<Utc>,
        duration_minutes: i64,
        time_zone: &str,
        client_ids: Vec<String>,
        weekly_occurrences: Option<u32>,
        now: DateTime<Utc>,
    ) -> AppResult<Self> {
        let kind = Kind::parse(kind)?;
        let title = check_text("title", title.unwrap_or(""), 200)?;
        let title = if title.is_empty() {
            kind.default_title().to_string()
        } else {
            title
        };
        let notes = check_text("notes", notes.unwrap_or(""), 5000)?;
        if starts_at <= now {
            return Err(AppError::invalid(
                "starts_at",
                "Choose a start time in the future.",
            ));
        }
        let duration_minutes = parse_duration(duration_minutes)?;
        let time_zone = parse_time_zone(time_zone)?;
        let mut client_ids = client_ids;
        client_ids.sort();
        client_ids.dedup();
        check_participant_count(kind, client_ids.len())?;
        let weekly_occurrences = weekly_occurrences.unwrap_or(1);
        if !(1..=MAX_WEEKLY_OCCURRENCES).contains(&weekly_occurrences) {
            return Err(AppError::invalid(
                "weekly_occurrences",
                format!("A weekly series has 1 to {MAX_WEEKLY_OCCURRENCES} sessions."),
            ));
        }
        Ok(Self {
            kind,
            title,
            notes,
            starts_at,
            duration_minutes,
            time_zone,
            client_ids,
            weekly_occurrences,
        })
    }
}

fn check_participant_count(kind: Kind, count: usize) -> AppResult<()> {
    match (kind, count) {
        (Kind::Individual, 1) => Ok(()),
        (Kind::Individual, _) => Err(AppError::invalid(
            "client_ids",
            "An individual session has exactly one client.",
        )),
        (Kind::Group, 1..=MAX_GROUP_CLIENTS) => Ok(()),
        (Kind::Group, _) => Err(AppError::invalid(
            "client_ids",
            format!("A group session has 1 to {MAX_GROUP_CLIENTS} clients."),
        )),
    }
}

/// Every id must be one of the owner's clients. The message is the same for
/// an id that does not exist and one that belongs to someone else.
async fn check_clients_are_owned(
    state: &AppState,
    owner: &Account,
    ids: &[String],
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
    session_id: &str,
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
    owner: &str,
    session_id: &str,
    client_id: &str,
) -> ParticipantRow {
    let id = new_id();
    let token = new_token();
    ParticipantRow {
        token_hash: hash_token(&token),
        token_sealed: key.seal_str(&token_ctx(owner, &id), &token),
        id,
        session_id: session_id.to_string(),
        client_id: client_id.to_string(),
        status: "pending".into(),
        sent_at: None,
        opened_at: None,
        revoked_at: None,
    }
}

/// A session as the therapist sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
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
    pub client_id: String,
    /// pending, sent, opened or revoked
    pub invitation_status: String,
}

pub fn rfc3339(t: i64) -> String {
    crate::accounts::rfc3339(t)
}

async fn view(state: &AppState, key: &DataKey, row: &SessionRow) -> AppResult<SessionView> {
    let open = |column: &str, sealed: &str| {
        key.open_str(&seal_ctx(&row.owner_id, column, &row.id), sealed)
            .map_err(|_| crate::clients::unreadable())
    };
    let participants = state.store.participants_of(&row.id).await?;
    Ok(SessionView {
        id: row.id.clone(),
        kind: row.kind.clone(),
        title: open("title", &row.title_sealed)?,
        notes: open("notes", &row.notes_sealed)?,
        starts_at: rfc3339(row.starts_at),
        duration_minutes: row.duration_minutes,
        time_zone: row.time_zone.clone(),
        status: row.status.clone(),
        series_id: row.series_id.clone(),
        room_url: state.settings.link(&format!("/sessions/{}/room", row.id)),
        participants: participants
            .into_iter()
            .map(|p| ParticipantView {
                client_id: p.client_id,
                invitation_status: p.status,
            })
            .collect(),
    })
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
        let id = new_id();
        let row = SessionRow {
            owner_id: owner.id.clone(),
            series_id: series_id.clone(),
            kind: plan.kind.as_str().into(),
            title_sealed: key.seal_str(&seal_ctx(&owner.id, "title", &id), &plan.title),
            notes_sealed: key.seal_str(&seal_ctx(&owner.id, "notes", &id), &plan.notes),
            starts_at: (plan.starts_at + chrono::Duration::weeks(week.into())).timestamp(),
            duration_minutes: plan.duration_minutes,
            time_zone: plan.time_zone.name().to_string(),
            status: "scheduled".into(),
            sequence: 0,
            created_at: now,
            updated_at: now,
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

async fn owned(state: &AppState, owner: &Account, id: &str) -> AppResult<(SessionRow, DataKey)> {
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

pub async fn get(state: &AppState, owner: &Account, id: &str) -> AppResult<SessionView> {
    let (row, key) = owned(state, owner, id).await?;
    view(state, &key, &row).await
}

/// A change to a scheduled session; `None` keeps a field.
#[derive(Default)]
pub struct Change {
    pub title: Option<String>,
    pub notes: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i64>,
    pub time_zone: Option<String>,
    pub client_ids: Option<Vec<String>>,
}

/// Applies a change. Clients whose invitation is affected are mailed: new
/// ones get an invitation, removed ones a cancellation, and everyone an
/// update when the time moves.
pub async fn update(
    state: &AppState,
    owner: &Account,
    id: &str,
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
        if starts_at.timestamp() <= now {
            return Err(AppError::invalid(
                "starts_at",
                "Choose a start time in the future.",
            ));
        }
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
        .filter(|p| p.status != "revoked")
        .collect();
    let (added, removed) = match &change.client_ids {
        Some(ids) => {
            let mut ids = ids.clone();
            ids.sort();
            ids.dedup();
            check_participant_count(Kind::parse(&row.kind)?, ids.len())?;
            check_clients_are_owned(state, owner, &ids).await?;
            let added: Vec<String> = ids
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
        for p in participants
            .iter()
            .filter(|p| p.status != "revoked" && !removed.iter().any(|r| r.id == p.id))
        {
            invitations::send_update(state, &row, p).await?;
            invitations::schedule_reminders(state, &row, p).await?;
        }
    }
    trace(state, owner, Action::SessionUpdated, &row.id).await?;
    view(state, &key, &row).await
}

/// Cancels the session: links stop working and every client is told.
pub async fn cancel(state: &AppState, owner: &Account, id: &str) -> AppResult<()> {
    let (mut row, _) = owned(state, owner, id).await?;
    if row.is_cancelled() {
        return Ok(());
    }
    row.status = "cancelled".into();
    row.sequence += 1;
    row.updated_at = state.clock.unix();
    state.store.update_session(&row).await?;
    for p in state.store.participants_of(&row.id).await? {
        if p.status != "revoked" {
            invitations::revoke(state, &row, &p, true).await?;
        }
    }
    tracing::info!(session = %row.id, "session cancelled");
    trace(state, owner, Action::SessionCancelled, &row.id).await?;
    Ok(())
}

/// Sends the invitation again now.
pub async fn resend(state: &AppState, owner: &Account, id: &str, client_id: &str) -> AppResult<()> {
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
        .find(|p| p.client_id == client_id && p.status != "revoked")
        .ok_or_else(AppError::not_found)?;
    invitations::send(state, &row, &participant, invitations::Mail::Invitation).await
}

/// A wall-clock date and time in `tz` (as typed in a form) as an instant.
pub fn local_to_utc(date: &str, time: &str, tz: Tz) -> AppResult<DateTime<Utc>> {
    use chrono::{LocalResult, NaiveDate, NaiveTime, TimeZone};
    let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid("date", "Choose a date."))?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M")
        .map_err(|_| AppError::invalid("time", "Choose a time, such as 09:30."))?;
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        // When clocks go back, an hour happens twice; take the first.
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(AppError::invalid(
            "time",
            "This time does not exist on that day (the clocks change). Choose another.",
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_time_is_converted_with_its_zone() {
        let t = local_to_utc("2026-12-01", "09:00", chrono_tz::America::Chicago).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T15:00:00+00:00");
    }

    #[test]
    fn a_time_skipped_by_daylight_saving_is_refused() {
        let err = local_to_utc("2026-03-08", "02:30", chrono_tz::America::Chicago).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("time"));
    }

    #[test]
    fn participant_counts_follow_the_kind() {
        assert!(check_participant_count(Kind::Individual, 1).is_ok());
        assert!(check_participant_count(Kind::Individual, 2).is_err());
        assert!(check_participant_count(Kind::Group, 15).is_ok());
        assert!(check_participant_count(Kind::Group, 16).is_err());
        assert!(check_participant_count(Kind::Group, 0).is_err());
    }
}
