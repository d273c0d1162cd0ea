//! The privacy policy and terms of use, in published versions. A version
//! takes effect on its date; therapists acknowledge each new one once.

use chrono::NaiveDate;

use crate::error::{AppError, AppResult};
use crate::ids::AccountId;
use crate::state::AppState;
use crate::store::{Account, PolicyVersion, Role};

pub const KINDS: [&str; 2] = ["privacy", "terms"];
const PRIVACY_V1: &str = include_str!("../../policy/privacy-v1.md");
const TERMS_V1: &str = include_str!("../../policy/terms-v1.md");
/// Bodies longer than this are refused.
pub const MAX_BODY: usize = 60_000;

/// Markdown to HTML, then through ammonia: no script, no event handlers, no
/// styles; links get `rel="noopener noreferrer"`.
pub fn render_markdown(markdown: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .clean(&html)
        .to_string()
}

pub fn title(kind: &str) -> &'static str {
    match kind {
        "terms" => "Terms of use",
        _ => "Privacy policy",
    }
}

/// Publishes version 1 of each document the first time the server starts.
pub async fn seed(state: &AppState) -> anyhow::Result<()> {
    for (kind, body) in [("privacy", PRIVACY_V1), ("terms", TERMS_V1)] {
        if state.store.policy_versions(kind).await?.is_empty() {
            // The first start-up on this database: everything starts here.
            let now = state.clock.unix();
            state
                .store
                .insert_policy_version(kind, body, &render_markdown(body), now, now, None)
                .await?;
        }
    }
    Ok(())
}

/// Reads `YYYY-MM-DD` as midnight UTC.
pub fn parse_date(raw: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

/// Publishes a new version; it takes effect at the start of `effective` (UTC).
pub async fn publish(
    state: &AppState,
    kind: &str,
    effective: &str,
    markdown: &str,
    operator_id: &str,
) -> AppResult<i64> {
    if !KINDS.contains(&kind) {
        return Err(AppError::invalid(
            "kind",
            "Choose the privacy policy or the terms of use.",
        ));
    }
    let effective_at = parse_date(effective)
        .ok_or_else(|| AppError::invalid("effective", "Enter the date as YYYY-MM-DD."))?;
    if markdown.trim().is_empty() || markdown.len() > MAX_BODY {
        return Err(AppError::invalid(
            "body",
            format!("Write the text, up to {MAX_BODY} characters."),
        ));
    }
    let version = state
        .store
        .insert_policy_version(
            kind,
            markdown,
            &render_markdown(markdown),
            effective_at,
            state.clock.unix(),
            Some(operator_id),
        )
        .await?;
    Ok(version)
}

/// The versions in force now that the therapist has not acknowledged and
/// that took effect after they signed up.
pub async fn pending_for(
    state: &AppState,
    account_id: &AccountId,
    created_at: i64,
) -> AppResult<Vec<PolicyVersion>> {
    let now = state.clock.unix();
    let mut pending = Vec::new();
    for kind in KINDS {
        if let Some(current) = state.store.policy_in_force(kind, now).await? {
            let newer_than_account = current.effective_at > created_at;
            if newer_than_account
                && !state
                    .store
                    .has_acknowledged(account_id, kind, current.version)
                    .await?
            {
                pending.push(current);
            }
        }
    }
    Ok(pending)
}

/// Acknowledges the versions waiting for this therapist; repeats change nothing.
pub async fn acknowledge_pending(
    state: &AppState,
    account_id: &AccountId,
    created_at: i64,
) -> AppResult<()> {
    let now = state.clock.unix();
    for version in pending_for(state, account_id, created_at).await? {
        state
            .store
            .acknowledge_policy(account_id, &version.kind, version.version, now)
            .await?;
    }
    Ok(())
}

/// What the page header tells a therapist with versions to acknowledge
/// (`None` for anyone else, or when the lookup fails: a page is not refused
/// for its notice).
pub async fn notice_for(state: &AppState, account: &Account) -> Option<String> {
    if account.role() != Role::Therapist {
        return None;
    }
    let pending = pending_for(state, &account.id, account.created_at)
        .await
        .unwrap_or_default();
    let names: Vec<String> = pending
        .iter()
        .map(|p| format!("{} (version {})", title(&p.kind).to_lowercase(), p.version))
        .collect();
    (!names.is_empty()).then(|| names.join(" and "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed_from_policy_text() {
        let html = render_markdown(
            "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2)) <img src=x onerror=alert(3)> **bold**",
        );
        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(!html.contains("onerror"));
    }

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(parse_date("2026-01-02"), Some(1_767_312_000));
        assert_eq!(parse_date("02/01/2026"), None);
    }
}
