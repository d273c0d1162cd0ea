//! The operators' console under `/admin`: analytics, the therapist
//! directory, support tickets, privacy inquiries, announcements, policy
//! versions and the audit log. Nothing here reads client records.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::charts;
use super::site::TicketPage;
use super::{render, Nav};
use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::email_links;
use crate::auth::operator::PageOperator;
use crate::error::{AppError, AppResult};
use crate::extract::ClientAddr;
use crate::site::summary::{self, Summary};
use crate::site::{self, policy};
use crate::state::AppState;
use crate::store::{AnnouncementRow, AuditRow, DirectoryRow, InquiryRow, PolicyVersion, TicketRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/therapists", get(directory))
        .route("/admin/therapists/{id}/{action}", post(therapist_action))
        .route("/admin/tickets", get(tickets))
        .route("/admin/tickets/{id}", get(ticket).post(answer_ticket))
        .route("/admin/inquiries", get(inquiries))
        .route("/admin/inquiries/{id}", get(inquiry).post(answer_inquiry))
        .route(
            "/admin/announcements",
            get(announcements).post(draft_announcement),
        )
        .route("/admin/announcements/{id}", get(preview_announcement))
        .route("/admin/announcements/{id}/send", post(send_announcement))
        .route("/admin/policies", get(policies).post(publish_policy))
        .route("/admin/audit", get(audit_log))
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

async fn operator_action(
    state: &AppState,
    operator: &str,
    target: Option<&str>,
    addr: std::net::IpAddr,
) -> AppResult<()> {
    let mut event =
        AuditEvent::new(Actor::operator(operator), Action::OperatorAction).from_addr(addr);
    if let Some(id) = target {
        event = event.target(TargetKind::Account, id);
    }
    audit::record_now(state, event).await
}

// ---- dashboard ------------------------------------------------------------

#[derive(Deserialize, Default)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_dashboard.html")]
struct Dashboard {
    nav: Nav,
    s: Summary,
    daily_svg: String,
    device_svg: String,
    pages_svg: String,
    referrers_svg: String,
    browsers_svg: String,
    os_svg: String,
    entry_svg: String,
    exit_svg: String,
    regions_svg: String,
    paths: Vec<(String, String, i64)>,
    error: Option<String>,
}

impl Dashboard {
    fn pct(&self, clicked: &i64, sent: &i64) -> String {
        if *sent == 0 {
            "–".into()
        } else {
            format!("{:.0}%", *clicked as f64 * 100.0 / *sent as f64)
        }
    }

    fn views_per_visitor(&self) -> String {
        if self.s.visitors == 0 {
            "–".into()
        } else {
            format!("{:.1}", self.s.pageviews as f64 / self.s.visitors as f64)
        }
    }

    fn mobile_pct(&self) -> String {
        format!(
            "{:.0}%",
            (self.s.device_share.mobile + self.s.device_share.tablet) * 100.0
        )
    }
}

async fn dashboard(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    Query(query): Query<RangeQuery>,
) -> AppResult<Response> {
    let (range, error) = match summary::range(&state, query.from.as_deref(), query.to.as_deref()) {
        Ok(range) => (range, None),
        Err(err) => (summary::range(&state, None, None)?, Some(err.message)),
    };
    let s = summary::summarize(&state, range).await?;
    let pairs = |rows: &[(String, i64)]| charts::bars(rows);
    let pages: Vec<(String, i64)> = s
        .top_pages
        .iter()
        .map(|p| (p.path.clone(), p.pageviews))
        .collect();
    let refs: Vec<(String, i64)> = s
        .referrers
        .iter()
        .map(|r| (r.host.clone(), r.visits))
        .collect();
    let named = |rows: &[crate::site::summary::NamedCount]| -> Vec<(String, i64)> {
        rows.iter().map(|r| (r.name.clone(), r.visitors)).collect()
    };
    let entry: Vec<(String, i64)> = s
        .entry_pages
        .iter()
        .map(|p| (p.path.clone(), p.pageviews))
        .collect();
    let exit: Vec<(String, i64)> = s
        .exit_pages
        .iter()
        .map(|p| (p.path.clone(), p.pageviews))
        .collect();
    let paths = state.store.analytics_paths(range, 8).await?;
    Ok(render(
        StatusCode::OK,
        &Dashboard {
            nav: Nav::signed(&csrf, &signed),
            daily_svg: charts::daily(&s.daily),
            device_svg: charts::device_share(
                s.device_share.mobile,
                s.device_share.tablet,
                s.device_share.desktop,
            ),
            pages_svg: pairs(&pages),
            referrers_svg: pairs(&refs),
            browsers_svg: pairs(&named(&s.browsers)),
            os_svg: pairs(&named(&s.operating_systems)),
            regions_svg: pairs(&named(&s.regions)),
            entry_svg: pairs(&entry),
            exit_svg: pairs(&exit),
            paths,
            s,
            error,
        },
    ))
}

// ---- therapist directory ----------------------------------------------------

#[derive(Deserialize, Default)]
struct Search {
    q: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_therapists.html")]
struct Directory {
    nav: Nav,
    q: String,
    rows: Vec<DirectoryRow>,
    done: Option<String>,
}

impl Directory {
    fn day(&self, unix: &i64) -> String {
        day(*unix)
    }
    fn last(&self, unix: &Option<i64>) -> String {
        unix.map(when).unwrap_or_else(|| "never".into())
    }
}

async fn directory(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    Query(search): Query<Search>,
) -> AppResult<Response> {
    let q: String = search.q.unwrap_or_default().chars().take(100).collect();
    let rows = state.store.therapist_directory(q.trim()).await?;
    let done = search.done.map(|d| match d.as_str() {
        "suspend" => "The account is suspended and signed out everywhere.".to_string(),
        "reinstate" => "The account is active again.".to_string(),
        _ => "A new verification link is on its way.".to_string(),
    });
    Ok(render(
        StatusCode::OK,
        &Directory {
            nav: Nav::signed(&csrf, &signed),
            q,
            rows,
            done,
        },
    ))
}

#[derive(Deserialize)]
struct Empty {}

async fn therapist_action(
    State(state): State<AppState>,
    PageOperator(signed): PageOperator,
    ClientAddr(addr): ClientAddr,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let account = state
        .store
        .account_by_id(&id)
        .await?
        .filter(|a| a.role() == crate::store::Role::Therapist)
        .ok_or_else(AppError::not_found)?;
    let now = state.clock.unix();
    match action.as_str() {
        "suspend" => {
            state
                .store
                .set_account_status(&account.id, "suspended", now)
                .await?;
            state
                .store
                .delete_auth_sessions_except(&account.id, None)
                .await?;
        }
        "reinstate" => {
            state
                .store
                .set_account_status(&account.id, "active", now)
                .await?;
        }
        "resend-verification" => {
            if account.email_verified_at.is_none() {
                email_links::send_verification(&state, &account).await?;
            }
        }
        _ => return Err(AppError::not_found()),
    }
    operator_action(&state, &signed.account.id, Some(&account.id), addr).await?;
    Ok(Redirect::to(&format!("/admin/therapists?done={action}")).into_response())
}

// ---- tickets ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_tickets.html")]
struct Tickets {
    nav: Nav,
    rows: Vec<TicketRow>,
}

impl Tickets {
    fn when(&self, unix: &i64) -> String {
        when(*unix)
    }
}

async fn tickets(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
) -> AppResult<Response> {
    let rows = state.store.all_tickets().await?;
    Ok(render(
        StatusCode::OK,
        &Tickets {
            nav: Nav::signed(&csrf, &signed),
            rows,
        },
    ))
}

async fn ticket(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let ticket = state
        .store
        .ticket(&id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let messages = state.store.ticket_messages(&ticket.id).await?;
    Ok(render(
        StatusCode::OK,
        &TicketPage {
            nav: Nav::signed(&csrf, &signed),
            action: format!("/admin/tickets/{}", ticket.id),
            ticket,
            messages,
            operator: true,
            error: None,
        },
    ))
}

#[derive(Deserialize, Default)]
struct TicketAnswer {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

async fn answer_ticket(
    State(state): State<AppState>,
    PageOperator(signed): PageOperator,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<TicketAnswer>,
) -> AppResult<Response> {
    site::operator_reply(&state, &signed.account, &id, &form.message, &form.status).await?;
    Ok(Redirect::to(&format!("/admin/tickets/{id}")).into_response())
}

// ---- privacy inquiries --------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_inquiries.html")]
struct Inquiries {
    nav: Nav,
    rows: Vec<InquiryRow>,
    now: i64,
}

impl Inquiries {
    fn day(&self, unix: &i64) -> String {
        day(*unix)
    }
    fn overdue(&self, row: &InquiryRow) -> bool {
        row.status == "open" && row.due_at < self.now
    }
    fn days_left(&self, row: &InquiryRow) -> i64 {
        (row.due_at - self.now).div_euclid(86_400)
    }
}

async fn inquiries(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
) -> AppResult<Response> {
    let rows = state.store.inquiries().await?;
    Ok(render(
        StatusCode::OK,
        &Inquiries {
            nav: Nav::signed(&csrf, &signed),
            rows,
            now: state.clock.unix(),
        },
    ))
}

#[derive(Template)]
#[template(path = "admin_inquiry.html")]
struct InquiryPage {
    nav: Nav,
    row: InquiryRow,
    error: Option<String>,
}

impl InquiryPage {
    fn day(&self, unix: &i64) -> String {
        day(*unix)
    }
}

async fn inquiry(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let row = state
        .store
        .inquiry(&id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(render(
        StatusCode::OK,
        &InquiryPage {
            nav: Nav::signed(&csrf, &signed),
            row,
            error: None,
        },
    ))
}

#[derive(Deserialize, Default)]
struct Reply {
    #[serde(default)]
    reply: String,
}

async fn answer_inquiry(
    State(state): State<AppState>,
    PageOperator(signed): PageOperator,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<Reply>,
) -> AppResult<Response> {
    site::answer_inquiry(&state, &signed.account, &id, &form.reply).await?;
    operator_action(&state, &signed.account.id, None, addr).await?;
    Ok(Redirect::to("/admin/inquiries").into_response())
}

// ---- announcements --------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_announcements.html")]
struct Announcements {
    nav: Nav,
    rows: Vec<AnnouncementRow>,
    subject: String,
    body: String,
    error: Option<String>,
}

impl Announcements {
    fn when(&self, unix: &i64) -> String {
        when(*unix)
    }
}

async fn announcements_page(
    state: &AppState,
    nav: Nav,
    subject: String,
    body: String,
    error: Option<AppError>,
) -> AppResult<Response> {
    let status = error
        .as_ref()
        .map_or(StatusCode::OK, super::form::failed_status);
    Ok(render(
        status,
        &Announcements {
            nav,
            rows: state.store.announcements().await?,
            subject,
            body,
            error: error.map(|e| e.message),
        },
    ))
}

async fn announcements(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
) -> AppResult<Response> {
    announcements_page(
        &state,
        Nav::signed(&csrf, &signed),
        String::new(),
        String::new(),
        None,
    )
    .await
}

#[derive(Deserialize, Default)]
struct AnnouncementForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

async fn draft_announcement(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    CsrfForm(form): CsrfForm<AnnouncementForm>,
) -> AppResult<Response> {
    match site::check_announcement(&form.subject, &form.body) {
        Ok((subject, body)) => {
            let id = state
                .store
                .insert_announcement(&subject, &body, &signed.account.id, state.clock.unix())
                .await?;
            Ok(Redirect::to(&format!("/admin/announcements/{id}")).into_response())
        }
        Err(err) => {
            announcements_page(
                &state,
                Nav::signed(&csrf, &signed),
                form.subject,
                form.body,
                Some(err),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "admin_announcement.html")]
struct AnnouncementPreview {
    nav: Nav,
    row: AnnouncementRow,
    preview: String,
    recipients: usize,
}

async fn preview_announcement(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let row = state
        .store
        .announcement(&id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let preview =
        site::announcement_text(&state, &row.subject, &row.body, "(therapist's name)", None)
            .await?;
    let recipients = state.store.announcement_recipients().await?.len();
    Ok(render(
        StatusCode::OK,
        &AnnouncementPreview {
            nav: Nav::signed(&csrf, &signed),
            row,
            preview,
            recipients,
        },
    ))
}

async fn send_announcement(
    State(state): State<AppState>,
    PageOperator(signed): PageOperator,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    site::send_announcement(&state, &id).await?;
    operator_action(&state, &signed.account.id, None, addr).await?;
    Ok(Redirect::to(&format!("/admin/announcements/{id}")).into_response())
}

// ---- policy versions -------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_policies.html")]
struct Policies {
    nav: Nav,
    versions: Vec<PolicyVersion>,
    kind: String,
    effective: String,
    body: String,
    error: Option<String>,
    now: i64,
}

impl Policies {
    fn day(&self, unix: &i64) -> String {
        day(*unix)
    }
    fn title(&self, kind: &str) -> &'static str {
        policy::title(kind)
    }
}

async fn policies_page(
    state: &AppState,
    nav: Nav,
    kind: String,
    effective: String,
    body: String,
    error: Option<AppError>,
) -> AppResult<Response> {
    let mut versions = state.store.policy_versions("privacy").await?;
    versions.extend(state.store.policy_versions("terms").await?);
    let status = error
        .as_ref()
        .map_or(StatusCode::OK, super::form::failed_status);
    Ok(render(
        status,
        &Policies {
            nav,
            versions,
            kind,
            effective,
            body,
            error: error.map(|e| e.message),
            now: state.clock.unix(),
        },
    ))
}

async fn policies(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
) -> AppResult<Response> {
    let tomorrow = day(state.clock.unix() + 86_400);
    policies_page(
        &state,
        Nav::signed(&csrf, &signed),
        "privacy".into(),
        tomorrow,
        String::new(),
        None,
    )
    .await
}

#[derive(Deserialize, Default)]
struct PolicyForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    effective: String,
    #[serde(default)]
    body: String,
}

async fn publish_policy(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    ClientAddr(addr): ClientAddr,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> AppResult<Response> {
    match policy::publish(
        &state,
        &form.kind,
        &form.effective,
        &form.body,
        &signed.account.id,
    )
    .await
    {
        Ok(_) => {
            operator_action(&state, &signed.account.id, None, addr).await?;
            Ok(Redirect::to("/admin/policies").into_response())
        }
        Err(err) => {
            policies_page(
                &state,
                Nav::signed(&csrf, &signed),
                form.kind,
                form.effective,
                form.body,
                Some(err),
            )
            .await
        }
    }
}

// ---- audit log ---------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct AuditQuery {
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

impl AuditPage {
    fn when(&self, unix: &i64) -> String {
        when(*unix)
    }
}

const PAGE: i64 = 100;

async fn audit_log(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    let clean = |v: Option<String>| -> String {
        v.unwrap_or_default()
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
            .take(64)
            .collect()
    };
    let (action, actor, id) = (clean(q.action), clean(q.actor), clean(q.id));
    let rows = state
        .store
        .audit_search(
            Some(action.as_str()).filter(|s| !s.is_empty()),
            Some(actor.as_str()).filter(|s| !s.is_empty()),
            Some(id.as_str()).filter(|s| !s.is_empty()),
            q.before,
            PAGE,
        )
        .await?;
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
