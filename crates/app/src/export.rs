//! The therapist's data export: everything the platform holds about them,
//! gathered from accounts, clients, sessions and the site, as one document.

use std::net::IpAddr;

use serde_json::json;

use crate::audit::{self, Action};
use crate::clients::Listed;
use crate::clock::rfc3339;
use crate::error::AppResult;
use crate::state::AppState;
use crate::store::Account;

/// Everything the platform holds about the therapist, as one JSON document.
/// The export is audited first, so the trail it contains includes itself.
pub async fn gather(
    state: &AppState,
    account: &Account,
    addr: IpAddr,
) -> AppResult<serde_json::Value> {
    audit::record_own(state, account, Action::Export, addr).await?;
    let trail = state.store.audit_trail_of(&account.id).await?;
    let sessions = state.store.auth_sessions_of(&account.id).await?;
    let recovery_left = state.store.unused_recovery_codes(&account.id).await?;
    let site = crate::site::export_of(state, &account.id).await?;
    // The clients and sessions the therapist entered are theirs to take along.
    let clients: Vec<serde_json::Value> = crate::clients::list(state, account, None, addr)
        .await?
        .into_iter()
        .map(|entry| match entry {
            Listed::Readable(c) => json!(c),
            Listed::Unreadable(id) => {
                json!({ "id": id, "unreadable": true })
            }
        })
        .collect();
    let video_sessions = crate::schedule::list(state, account, 0, i64::MAX / 2).await?;
    // As the dashboard shows it: the anonymous answers are no one's to export.
    let survey_summary = crate::surveys::therapist_summary(state, &account.id).await?;
    Ok(json!({
        "survey_summary": survey_summary,
        "policy_acknowledgements": site.acknowledgements,
        "support_tickets": site.tickets,
        "announcements_opted_out_at": site.opted_out_at,
        "format": "regroup-export/1",
        "exported_at": rfc3339(state.clock.unix()),
        "account": crate::accounts::TherapistView::from(account),
        "last_sign_in_at": account.last_sign_in_at.map(rfc3339),
        "security": {
            "totp_enabled": account.totp_enabled(),
            "unused_recovery_codes": recovery_left,
        },
        "sessions": sessions.iter().map(|s| json!({
            "kind": s.kind,
            "created_at": rfc3339(s.created_at),
            "last_seen_at": rfc3339(s.last_seen_at),
            "expires_at": rfc3339(s.expires_at),
        })).collect::<Vec<_>>(),
        "clients": clients,
        "video_sessions": video_sessions,
        "audit_trail": trail.iter().map(|e| json!({
            "at": rfc3339(e.at),
            "action": e.action,
            "target_kind": e.target_kind,
            "target_id": e.target_id,
        })).collect::<Vec<_>>(),
    }))
}
