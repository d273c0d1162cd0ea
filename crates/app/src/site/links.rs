//! Tracked links in outgoing email: `/r/{id}` with an opaque random id that
//! maps, on the server only, to a sealed destination. The redirect never
//! takes its destination from the request, so it cannot be an open redirect.

use base64::Engine;
use rand::RngCore;
use regroup_vault::FieldContext;

use crate::error::{AppError, AppResult};
use crate::ids::AccountId;
use crate::state::AppState;
use crate::store::TrackedLink;

/// Owner of the data key that seals destinations of platform mail.
const PLATFORM_OWNER: &str = "platform:tracked-links";

fn ctx<'a>(owner: &'a str, id: &'a str) -> FieldContext<'a> {
    FieldContext {
        owner,
        table: "tracked_links",
        column: "destination",
        row_id: id,
    }
}

/// 128 random bits, URL-safe: unguessable, and unrelated to the destination.
fn new_link_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A link for an email that leads to `destination` through `/r/{id}`.
/// Each call makes its own id, so clicks per email can be told apart.
pub async fn tracked_link(
    state: &AppState,
    campaign: &str,
    destination: &str,
) -> AppResult<String> {
    tracked_link_as(state, None, campaign, "link", destination).await
}

/// As `tracked_link`, with the destination sealed under a therapist's key
/// (for join links: deleting the therapist makes the link unreadable too)
/// and a label telling links of one email apart.
pub async fn tracked_link_as(
    state: &AppState,
    owner_id: Option<&AccountId>,
    campaign: &str,
    label: &str,
    destination: &str,
) -> AppResult<String> {
    let id = new_link_id();
    let owner = owner_id.map_or(PLATFORM_OWNER, AccountId::as_str);
    let key = state.keys.data_key(owner).await?;
    let sealed = key.seal_str(&ctx(owner, &id), destination);
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
            .take(60)
            .collect()
    };
    state
        .store
        .insert_tracked_link(
            &TrackedLink {
                id: id.clone(),
                campaign: clean(campaign),
                label: clean(label),
                owner_id: owner_id.cloned(),
                destination: sealed,
            },
            state.clock.unix(),
        )
        .await?;
    Ok(state.settings.link(&format!("/r/{id}")))
}

/// Counts a click and returns where to send the browser. Unknown ids, and
/// destinations whose key is gone, are not found.
pub async fn follow(state: &AppState, id: &str) -> AppResult<String> {
    if id.len() > 64 {
        return Err(AppError::not_found());
    }
    let link = state
        .store
        .tracked_link(id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let owner = link.owner_id.as_deref().unwrap_or(PLATFORM_OWNER);
    let key = state
        .keys
        .existing_key(owner)
        .await?
        .ok_or_else(AppError::not_found)?;
    let destination = key
        .open_str(&ctx(owner, &link.id), &link.destination)
        .map_err(|_| AppError::not_found())?;
    let (_, hour) = super::analytics::day_and_hour(state.clock.unix());
    state
        .store
        .record_click(&link.id, &link.campaign, hour)
        .await?;
    Ok(destination)
}
