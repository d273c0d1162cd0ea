//! The therapist's private calendar feed, `/calendar/{secret}.ics`: their
//! video sessions as a subscribed calendar (Google, Apple, Outlook).
//!
//! The secret is a 256-bit random token kept only as its SHA-256, like sign-in
//! tokens; so its URL is shown once, when the feed is turned on or rotated,
//! and never again (`GET /api/v1/me` says only whether the feed is on).
//! Events carry times, "Session"/"Group session" (or the therapist's own
//! titles, if they chose so) and the therapist's room page: never a client,
//! an email or an invitation token.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::auth::throttle;
use crate::auth::tokens::{hash_token, new_token};
use crate::error::{AppError, AppResult};
use crate::schedule::{ics, seal_ctx, Kind};
use crate::state::AppState;
use crate::store::{Account, SessionRow};

/// Sessions that ended up to this long ago stay in the feed.
const PAST_SECS: i64 = 30 * 24 * 3600;
/// Sessions up to this far ahead are listed (weekly series are expanded).
const AHEAD_SECS: i64 = 400 * 24 * 3600;
/// Calendar apps poll every few hours; more than this per feed is refused,
/// so a leaked URL cannot be used to load the database or the audit log.
const FETCHES_PER_HOUR: i64 = 60;

/// Whether the feed is on, as the API shows it (the URL is not kept).
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedStatus {
    pub enabled: bool,
    /// When the current URL was made (RFC 3339); null when off.
    pub created_at: Option<String>,
    /// Events carry the session titles instead of "Session".
    pub show_titles: bool,
}

pub async fn status(state: &AppState, account: &Account) -> AppResult<FeedStatus> {
    let row = state.store.calendar_feed_of(&account.id).await?;
    Ok(FeedStatus {
        enabled: row.is_some(),
        created_at: row.as_ref().map(|r| crate::clock::rfc3339(r.created_at)),
        show_titles: row.is_some_and(|r| r.show_titles != 0),
    })
}

/// Turns the feed on, or gives it a new secret: the old URL stops working.
/// Returns the new URL, the only time it can be shown.
pub async fn turn_on(
    state: &AppState,
    account: &Account,
    show_titles: bool,
    addr: IpAddr,
) -> AppResult<String> {
    let secret = new_token();
    audit::record_own(state, account, Action::CalendarFeedEnabled, addr).await?;
    state
        .store
        .put_calendar_feed(
            &account.id,
            &hash_token(&secret),
            show_titles,
            state.clock.unix(),
        )
        .await?;
    Ok(state.settings.link(&format!("/calendar/{secret}.ics")))
}

pub async fn turn_off(state: &AppState, account: &Account, addr: IpAddr) -> AppResult<()> {
    audit::record_own(state, account, Action::CalendarFeedDisabled, addr).await?;
    state.store.delete_calendar_feed(&account.id).await?;
    Ok(())
}

/// The feed for the last path segment (`{secret}.ics`); 404 for anything
/// that is not a live secret, so a dead URL looks like one that never was.
pub async fn fetch(state: &AppState, file: &str, addr: IpAddr) -> AppResult<String> {
    let secret = file
        .strip_suffix(".ics")
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .ok_or_else(AppError::not_found)?;
    // Looked up by hash, as sign-in tokens are: timing tells nothing about the secret.
    let feed = state
        .store
        .calendar_feed_by_hash(&hash_token(secret))
        .await?
        .ok_or_else(AppError::not_found)?;
    let now = state.clock.unix();
    let subject = throttle::subject(
        state.settings.throttle_key(),
        "calendar_feed",
        &feed.account_id,
    );
    throttle::count(&state.store, &[(&subject, FETCHES_PER_HOUR)], 3600, now).await?;
    let event = AuditEvent::new(
        Actor::therapist(&feed.account_id),
        Action::CalendarFeedFetched,
    )
    .target(TargetKind::Account, &feed.account_id)
    .from_addr(addr);
    audit::record_now(state, event).await?;
    let rows = state
        .store
        .sessions_of(&feed.account_id, now - PAST_SECS, now + AHEAD_SECS)
        .await?;
    let rows: Vec<&SessionRow> = rows.iter().filter(|r| !r.is_cancelled()).collect();
    let key = if feed.show_titles != 0 {
        Some(state.keys.data_key(&feed.account_id).await?)
    } else {
        None
    };
    let mut texts = Vec::with_capacity(rows.len());
    for row in &rows {
        let generic = match row.kind {
            Kind::Group => "Group session",
            Kind::Individual => "Session",
        };
        // A title that cannot be opened falls back to the generic one.
        let summary = key
            .as_ref()
            .and_then(|k| {
                k.open_str(
                    &seal_ctx(&row.owner_id, "title", &row.id),
                    &row.title_sealed,
                )
                .ok()
            })
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| generic.to_string());
        texts.push((
            format!("{}@regroup", row.id),
            summary,
            crate::schedule::view::room_url(state, &row.id),
        ));
    }
    let events: Vec<ics::FeedEvent<'_>> = rows
        .iter()
        .zip(&texts)
        .map(|(row, (uid, summary, url))| ics::FeedEvent {
            uid,
            sequence: row.sequence,
            starts_at: utc(row.starts_at),
            ends_at: utc(row.ends_at()),
            summary,
            url,
        })
        .collect();
    Ok(ics::feed("Regroup sessions", utc(now), &events))
}

fn utc(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}
