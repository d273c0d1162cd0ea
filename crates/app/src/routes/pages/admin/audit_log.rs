//! The audit log viewer: the newest entries, filtered, a page at a time.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::super::{render, Nav};
use super::Dates;
use crate::auth::csrf::CsrfToken;
use crate::auth::operator::PageOperator;
use crate::error::AppResult;
use crate::extract::QueryString;
use crate::state::AppState;
use crate::store::AuditRow;

#[derive(Deserialize, Default)]
pub(super) struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
    id: Option<String>,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    nav: Nav,
    rows: Vec<AuditRow>,
    action: String,
    actor: String,
    id: String,
    next: Option<i64>,
}

impl Dates for AuditPage {}

const PAGE: i64 = 100;

/// Filters come from the URL and go back into the page's links; only the
/// characters of action names, actor kinds and ids are kept.
fn clean(v: Option<String>) -> String {
    v.unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .take(64)
        .collect()
}

/// An empty filter matches everything.
fn filter(v: &str) -> Option<&str> {
    Some(v).filter(|s| !s.is_empty())
}

pub(super) async fn search(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    QueryString(q): QueryString<AuditQuery>,
) -> AppResult<Response> {
    let (action, actor, id) = (clean(q.action), clean(q.actor), clean(q.id));
    let rows = state
        .store
        .audit_search(filter(&action), filter(&actor), filter(&id), q.before, PAGE)
        .await?;
    // A full page may have more behind it; a short one is the end.
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    Ok(render(
        StatusCode::OK,
        &AuditPage {
            nav: Nav::signed(&csrf, &signed),
            rows,
            action,
            actor,
            id,
            next,
        },
    ))
}
