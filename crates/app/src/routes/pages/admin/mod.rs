//! The operators' console under `/admin`: analytics, the therapist
//! directory, support tickets, privacy inquiries, announcements, policy
//! versions, the audit log and satisfaction surveys. Nothing here reads client records.

mod analytics;
mod announcements;
mod audit_log;
mod inquiries;
mod policies;
mod surveys;
mod therapists;
mod tickets;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(analytics::dashboard))
        .route("/admin/therapists", get(therapists::directory))
        .route("/admin/therapists/{id}/{action}", post(therapists::act))
        .route("/admin/tickets", get(tickets::list))
        .route(
            "/admin/tickets/{id}",
            get(tickets::show).post(tickets::answer),
        )
        .route("/admin/inquiries", get(inquiries::list))
        .route(
            "/admin/inquiries/{id}",
            get(inquiries::show).post(inquiries::answer),
        )
        .route(
            "/admin/announcements",
            get(announcements::list).post(announcements::draft),
        )
        .route("/admin/announcements/{id}", get(announcements::preview))
        .route("/admin/announcements/{id}/send", post(announcements::send))
        .route(
            "/admin/policies",
            get(policies::list).post(policies::publish),
        )
        .route("/admin/audit", get(audit_log::search))
        .route("/admin/surveys", get(surveys::list))
}

/// A form with nothing in it but the CSRF token: a bare button.
#[derive(Deserialize)]
struct Empty {}

/// Dates as the console's tables show them. Templates call these as
/// `self.when(..)`/`self.day(..)`, so each page opts in with an empty impl.
trait Dates {
    fn when(&self, unix: &i64) -> String {
        when(*unix)
    }
    fn day(&self, unix: &i64) -> String {
        day(*unix)
    }
}

fn when(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn day(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Every change an operator makes is audited as an operator action, naming
/// the account it touched when there is one, before the browser moves on.
async fn audited_redirect(
    state: &AppState,
    operator: &str,
    target: Option<&str>,
    addr: std::net::IpAddr,
    to: &str,
) -> AppResult<Response> {
    let mut event =
        AuditEvent::new(Actor::operator(operator), Action::OperatorAction).from_addr(addr);
    if let Some(id) = target {
        event = event.target(TargetKind::Account, id);
    }
    audit::record_now(state, event).await?;
    Ok(Redirect::to(to).into_response())
}

/// The status and message of a form page shown again after a failed submit
/// (or for the first time, with no error).
fn form_outcome(error: Option<AppError>) -> (StatusCode, Option<String>) {
    match error {
        Some(err) => (super::form::failed_status(&err), Some(err.message)),
        None => (StatusCode::OK, None),
    }
}
