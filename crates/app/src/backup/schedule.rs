//! Scheduled backups in `regroup serve --backup-every HOURS`.
//!
//! Time is cut into slots of the interval (slot = Unix time / interval). Every
//! few minutes each node tries to claim the current slot in `backup_runs`
//! with an insert that only one node can win (its primary key); the winner
//! makes the backup. That is the jobs table's idea (the database decides who
//! runs) without a lease to expire: a slot is claimed once, so several nodes
//! on one PostgreSQL, or a restarted node, back up once per interval. A run
//! that fails is not retried until the next slot; it is logged as a warning.

use std::time::Duration;

use super::{create, BackupPlan, Made};
use crate::audit::{self, Action, Actor, AuditEvent};
use crate::state::AppState;

/// How often a node looks for an unclaimed slot.
const CHECK_EVERY: Duration = Duration::from_secs(300);

/// Makes a backup if nobody has made this slot's yet.
pub async fn backup_if_due(
    state: &AppState,
    plan: &BackupPlan,
    every: Duration,
) -> anyhow::Result<Option<Made>> {
    let now = state.clock.unix();
    let slot = now / every.as_secs().max(1) as i64;
    if !state.store.claim_backup_slot(slot, now).await? {
        return Ok(None);
    }
    let made = create(&state.store, plan).await?;
    let event = AuditEvent::new(Actor::system(), Action::BackupMade);
    audit::record_now(state, event)
        .await
        .map_err(|e| anyhow::anyhow!("while auditing the backup: {e:?}"))?;
    Ok(Some(made))
}

/// Runs [`backup_if_due`] until the server stops.
pub async fn run_forever(state: AppState, plan: BackupPlan, every: Duration) {
    let mut tick = tokio::time::interval(CHECK_EVERY.min(every));
    loop {
        tick.tick().await;
        match backup_if_due(&state, &plan, every).await {
            Ok(Some(made)) => tracing::info!(
                file = %made.path.display(),
                bytes = made.bytes,
                rotated_out = made.removed.len(),
                "backup written"
            ),
            Ok(None) => {}
            Err(err) => tracing::warn!(error = format!("{err:#}"), "scheduled backup failed"),
        }
    }
}
