//! The background job runner: invitations, reminders and password reset mail
//! stored in the `jobs` table, so they survive restarts and run once across
//! nodes.

use std::time::Duration;

use crate::error::AppResult;
use crate::ids::{AccountId, ParticipantId};
use crate::schedule::invitations::{self, Mail};
use crate::state::AppState;
use crate::store::InvitationStatus;
use crate::store::JobRow;

/// Mails a password reset link; the job's id column holds the account id.
pub const PASSWORD_RESET: &str = "password_reset";

/// A claimed job not finished within this time is retried by anyone.
const LEASE_SECS: i64 = 300;
const MAX_ATTEMPTS: i64 = 5;

/// Runs every job that is due now; returns how many were taken.
pub async fn run_due(state: &AppState) -> AppResult<usize> {
    let mut taken = 0;
    while let Some(job) = state
        .store
        .claim_due_job(state.clock.unix(), LEASE_SECS)
        .await?
    {
        taken += 1;
        match run_one(state, &job).await {
            Ok(()) => state.store.finish_job(&job.id, state.clock.unix()).await?,
            Err(err) => {
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %err, "job failed");
                if job.attempts >= MAX_ATTEMPTS {
                    state.store.finish_job(&job.id, state.clock.unix()).await?;
                }
                // Otherwise the lease runs out and the job is tried again.
            }
        }
    }
    Ok(taken)
}

async fn run_one(state: &AppState, job: &JobRow) -> AppResult<()> {
    if job.kind == PASSWORD_RESET {
        // Requests for unknown addresses name no account: nothing to send.
        if let Some(account) = state
            .store
            .account_by_id(&AccountId::from(job.subject.as_str()))
            .await?
        {
            crate::auth::email_links::send_password_reset(state, &account).await?;
        }
        return Ok(());
    }
    let mail = match job.kind.as_str() {
        "invite" => Mail::Invitation,
        "remind_24h" => Mail::Reminder24h,
        "remind_15m" => Mail::Reminder15m,
        other => {
            tracing::warn!(kind = other, "unknown job kind; dropped");
            return Ok(());
        }
    };
    let Some(participant) = state
        .store
        .participant_by_id(&ParticipantId::from(job.subject.as_str()))
        .await?
    else {
        return Ok(());
    };
    let Some(session) = state.store.session_by_id(&participant.session_id).await? else {
        return Ok(());
    };
    let stale = session.is_cancelled()
        || session.ended_at.is_some()
        || participant.status == InvitationStatus::Revoked
        || state.clock.unix() >= session.ends_at();
    if stale {
        return Ok(());
    }
    invitations::send(state, &session, &participant, mail).await
}

/// Polls for due jobs until the server stops.
pub async fn run_forever(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(err) = run_due(&state).await {
            tracing::warn!(error = %err, "job runner could not run");
        }
    }
}
