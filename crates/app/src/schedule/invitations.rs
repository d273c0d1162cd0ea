//! Emails to invited clients: invitation, update, reminders, cancellation.
//! Each client gets their own message; no other client's name or address
//! ever appears in it, and subjects name only the therapist and the time.

use chrono::DateTime;
use chrono_tz::Tz;

use super::ics::{self, Method};
use super::token_ctx;
use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::clients;
use crate::error::{AppError, AppResult};
use crate::mail::Message;
use crate::state::AppState;
use crate::store::InvitationStatus;
use crate::store::{ParticipantRow, SessionRow};

/// Invitations for sessions further out are sent this long before the start.
pub const INVITE_AHEAD_SECS: i64 = 7 * 24 * 3600;
/// Join links open this long before the start.
pub const JOIN_EARLY_SECS: i64 = 30 * 60;
const REMINDERS: [(&str, i64); 2] = [("remind_24h", 24 * 3600), ("remind_15m", 15 * 60)];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mail {
    Invitation,
    Update,
    Reminder24h,
    Reminder15m,
    Cancellation,
}

/// Sends the invitation now, or schedules it for a week before a later
/// session, and schedules the reminders.
pub async fn plan_mail(state: &AppState, row: &SessionRow, p: &ParticipantRow) -> AppResult<()> {
    let now = state.clock.unix();
    if row.starts_at - now <= INVITE_AHEAD_SECS {
        send(state, row, p, Mail::Invitation).await?;
    } else {
        state
            .store
            .schedule_job("invite", &p.id, row.starts_at - INVITE_AHEAD_SECS)
            .await?;
    }
    schedule_reminders(state, row, p).await
}

/// (Re)schedules the reminders for the session's current start time.
pub async fn schedule_reminders(
    state: &AppState,
    row: &SessionRow,
    p: &ParticipantRow,
) -> AppResult<()> {
    let now = state.clock.unix();
    for (kind, before) in REMINDERS {
        let run_at = row.starts_at - before;
        if run_at > now {
            state.store.schedule_job(kind, &p.id, run_at).await?;
        } else {
            state.store.cancel_job(kind, &p.id, now).await?;
        }
    }
    Ok(())
}

/// Tells an already-invited client that the time changed.
pub async fn send_update(state: &AppState, row: &SessionRow, p: &ParticipantRow) -> AppResult<()> {
    if p.status == InvitationStatus::Pending {
        // Not invited yet: the invitation, when it goes, carries the new time.
        if row.starts_at - state.clock.unix() <= INVITE_AHEAD_SECS {
            return send(state, row, p, Mail::Invitation).await;
        }
        return state
            .store
            .schedule_job("invite", &p.id, row.starts_at - INVITE_AHEAD_SECS)
            .await
            .map_err(Into::into);
    }
    send(state, row, p, Mail::Update).await
}

/// Ends a participant's invitation: the link stops working, pending mail is
/// cancelled, and a client who had been invited is told.
pub async fn revoke(
    state: &AppState,
    row: &SessionRow,
    p: &ParticipantRow,
    notify: bool,
) -> AppResult<()> {
    let now = state.clock.unix();
    state
        .store
        .mark_participant(&p.id, InvitationStatus::Revoked, now)
        .await?;
    state.store.cancel_jobs_for(&p.id, now).await?;
    // An open room drops them now, not at the old end time.
    crate::room::across::tell(
        state,
        crate::room::across::Outside::Revoked {
            session_id: &row.id,
            participant_id: &p.id,
        },
    )
    .await;
    if notify && p.status != InvitationStatus::Pending {
        send(state, row, p, Mail::Cancellation).await?;
    }
    Ok(())
}

fn local(t: i64, tz: &str) -> DateTime<Tz> {
    let tz: Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
}

/// "Tuesday, December 1, 2026 at 9:00 AM CST"
pub fn when(t: i64, tz: &str) -> String {
    local(t, tz)
        .format("%A, %B %-d, %Y at %-I:%M %p %Z")
        .to_string()
}

/// Sends one email about the session to one participant.
pub async fn send(
    state: &AppState,
    row: &SessionRow,
    p: &ParticipantRow,
    mail: Mail,
) -> AppResult<()> {
    let owner = state
        .store
        .account_by_id(&row.owner_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let key = state
        .keys
        .existing_key(&owner.id)
        .await?
        .ok_or_else(clients::unreadable)?;
    let client_row = state
        .store
        .client_of(&owner.id, &p.client_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let client = clients::open(&key, &client_row)?;
    let token = key
        .open_str(&token_ctx(&owner.id, &p.id), &p.token_sealed)
        .map_err(|_| clients::unreadable())?;
    let link = state.settings.link(&format!("/join/{token}"));
    let therapist = &owner.name;
    let at = when(row.starts_at, &row.time_zone);
    let kind = if row.is_group() {
        "group session"
    } else {
        "video session"
    };
    let (subject, opening) = match mail {
        Mail::Invitation => (
            format!("Your {kind} with {therapist} on {at}"),
            format!("{therapist} invites you to a {kind} on Regroup on {at}, for {} minutes.", row.duration_minutes),
        ),
        Mail::Update => (
            format!("Updated: {kind} with {therapist}, now {at}"),
            format!("{therapist} changed your {kind}. It is now on {at}, for {} minutes.", row.duration_minutes),
        ),
        Mail::Reminder24h => (
            format!("Reminder: {kind} with {therapist} tomorrow, {at}"),
            format!("This is a reminder of your {kind} with {therapist} on {at}."),
        ),
        Mail::Reminder15m => (
            format!("Starting soon: {kind} with {therapist} at {}", local(row.starts_at, &row.time_zone).format("%-I:%M %p %Z")),
            format!("Your {kind} with {therapist} starts in about 15 minutes, at {at}."),
        ),
        Mail::Cancellation => (
            format!("Cancelled: {kind} with {therapist} on {at}"),
            format!("{therapist} cancelled the {kind} that was planned for {at}. Your link for it no longer works."),
        ),
    };
    let body = if mail == Mail::Cancellation {
        format!(
            "Hello {name},\n\n{opening}\n\nRegroup\n",
            name = client.name
        )
    } else {
        format!(
            "Hello {name},\n\n{opening}\n\nJoin with your personal link (it opens 30 minutes before the start; \
             please do not share it):\n\n{link}\n\nBefore you join you can check your camera and microphone. \
             You will wait in a waiting room until {therapist} lets you in.\n\nRegroup\n",
            name = client.name
        )
    };
    let mut message = Message::new(&client.name, &client.email, &subject, body);
    if matches!(mail, Mail::Invitation | Mail::Update | Mail::Cancellation) {
        let starts = DateTime::from_timestamp(row.starts_at, 0).unwrap_or_default();
        let uid = format!("{}@regroup", row.id);
        let summary = format!("Video session with {therapist}");
        let description = format!("Join: {link}");
        let event = ics::Event {
            uid: &uid,
            sequence: row.sequence,
            starts_at: starts,
            ends_at: starts + chrono::Duration::minutes(row.duration_minutes),
            stamp: state.clock.now(),
            summary: &summary,
            description: if mail == Mail::Cancellation {
                ""
            } else {
                &description
            },
            url: &link,
            organizer_name: therapist,
            organizer_email: &state.mailer.from_email(),
            attendee_name: &client.name,
            attendee_email: &client.email,
        };
        let (method, content_type) = match mail {
            Mail::Cancellation => (
                Method::Cancel,
                "text/calendar; method=CANCEL; charset=UTF-8",
            ),
            _ => (
                Method::Request,
                "text/calendar; method=REQUEST; charset=UTF-8",
            ),
        };
        message = message.attach(
            "invite.ics",
            content_type,
            ics::calendar(method, &event).into_bytes(),
        );
    }
    state.mailer.send(message).await?;
    if mail == Mail::Invitation {
        state
            .store
            .mark_participant(&p.id, InvitationStatus::Sent, state.clock.unix())
            .await?;
        let event = AuditEvent::new(Actor::system(), Action::InvitationSent)
            .target(TargetKind::Invitation, &p.id);
        audit::record_now(state, event).await?;
    }
    tracing::info!(session = %row.id, participant = %p.id, mail = ?mail, "session email sent");
    Ok(())
}

/// Whether a join link works at `now`, and if not, why.
pub enum Window {
    Open,
    TooEarly,
    Ended,
}

pub fn window(row: &SessionRow, now: i64) -> Window {
    if now < row.starts_at - JOIN_EARLY_SECS {
        Window::TooEarly
    } else if now >= row.ends_at() {
        Window::Ended
    } else {
        Window::Open
    }
}
