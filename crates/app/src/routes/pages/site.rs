//! The public site: how it works, the policy and terms (with their versions),
//! the contact form, tracked-link redirects and announcement opt-outs; and the
//! therapists' support tickets.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::form::failed_status;
use super::{render, MessagePage, Nav};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::session::PageTherapist;
use crate::error::{AppError, AppResult};
use crate::extract::PeerAddr;
use crate::ids::AccountId;
use crate::site::{self, policy};
use crate::state::AppState;
use crate::store::{PolicyVersion, TicketMessage, TicketRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/how-it-works", get(how_it_works))
        .route("/privacy", get(privacy))
        .route("/privacy/versions/{n}", get(privacy_version))
        .route("/privacy/acknowledge", post(acknowledge))
        .route("/terms", get(terms))
        .route("/terms/versions/{n}", get(terms_version))
        .route("/contact", get(contact).post(send_contact))
        .route("/r/{id}", get(follow))
        .route("/unsubscribe/{token}", get(unsubscribe))
        .route("/support", get(support).post(open_ticket))
        .route("/support/{id}", get(ticket).post(reply))
}

#[derive(Template)]
#[template(path = "how_it_works.html")]
struct HowItWorks {
    nav: Nav,
}

async fn how_it_works(Extension(csrf): Extension<CsrfToken>) -> Response {
    render(
        StatusCode::OK,
        &HowItWorks {
            nav: Nav::anonymous(&csrf),
        },
    )
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    nav: Nav,
    title: &'static str,
    kind: String,
    shown: PolicyVersion,
    in_force: bool,
    versions: Vec<PolicyVersion>,
}

impl PolicyPage {
    fn date(&self, unix: &i64) -> String {
        site::day_text(*unix)
    }
}

async fn policy_page(
    state: &AppState,
    csrf: &CsrfToken,
    kind: &'static str,
    version: Option<i64>,
) -> AppResult<Response> {
    let now = state.clock.unix();
    let in_force = state.store.policy_in_force(kind, now).await?;
    let shown = match version {
        None => in_force.clone(),
        Some(n) => state.store.policy_version(kind, n).await?,
    }
    .ok_or_else(AppError::not_found)?;
    // A version published for a later date is not readable before it.
    if shown.effective_at > now {
        return Err(AppError::not_found());
    }
    let versions = state
        .store
        .policy_versions(kind)
        .await?
        .into_iter()
        .filter(|v| v.effective_at <= now)
        .collect();
    Ok(render(
        StatusCode::OK,
        &PolicyPage {
            nav: Nav::anonymous(csrf),
            title: policy::title(kind),
            kind: kind.to_string(),
            in_force: in_force.is_some_and(|v| v.version == shown.version),
            shown,
            versions,
        },
    ))
}

async fn privacy(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
) -> AppResult<Response> {
    policy_page(&state, &csrf, "privacy", None).await
}

async fn privacy_version(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(n): Path<i64>,
) -> AppResult<Response> {
    policy_page(&state, &csrf, "privacy", Some(n)).await
}

async fn terms(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
) -> AppResult<Response> {
    policy_page(&state, &csrf, "terms", None).await
}

async fn terms_version(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(n): Path<i64>,
) -> AppResult<Response> {
    policy_page(&state, &csrf, "terms", Some(n)).await
}

#[derive(Deserialize)]
struct Empty {}

async fn acknowledge(
    State(state): State<AppState>,
    PageTherapist(signed): PageTherapist,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    policy::acknowledge_pending(&state, &signed.account.id, signed.account.created_at).await?;
    Ok(Redirect::to("/dashboard").into_response())
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    nav: Nav,
    name: String,
    email: String,
    message: String,
    error: Option<AppError>,
}

impl ContactPage {
    fn field_error(&self, name: &str) -> Option<String> {
        self.error
            .as_ref()
            .filter(|e| e.field.as_deref() == Some(name))
            .map(|e| e.message.clone())
    }

    fn general_error(&self) -> Option<String> {
        self.error
            .as_ref()
            .filter(|e| e.field.is_none())
            .map(|e| e.message.clone())
    }
}

async fn contact(Extension(csrf): Extension<CsrfToken>) -> Response {
    render(
        StatusCode::OK,
        &ContactPage {
            nav: Nav::anonymous(&csrf),
            name: String::new(),
            email: String::new(),
            message: String::new(),
            error: None,
        },
    )
}

#[derive(Deserialize, Default)]
struct ContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    message: String,
    /// The honeypot: hidden from people, filled in by form-spamming robots.
    #[serde(default)]
    website: String,
}

async fn send_contact(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<ContactForm>,
) -> Response {
    let thanks = || {
        MessagePage::new(
            Nav::anonymous(&csrf),
            "Thank you",
            &[
                "We received your question and will answer by email within 30 days.",
                "A confirmation is on its way to your inbox.",
            ],
        )
        .link("/privacy", "Back to the privacy policy")
        .respond(StatusCode::OK)
    };
    if !form.website.trim().is_empty() {
        // A robot: it sees the same answer as a person, and nothing is kept.
        tracing::info!("contact form: honeypot filled; message dropped");
        return thanks();
    }
    match site::submit_inquiry(&state, &form.name, &form.email, &form.message, addr).await {
        Ok(_) => thanks(),
        Err(err) => {
            let status = failed_status(&err);
            let retry = err.retry_after;
            let mut response = render(
                status,
                &ContactPage {
                    nav: Nav::anonymous(&csrf),
                    name: form.name,
                    email: form.email,
                    message: form.message,
                    error: Some(err),
                },
            );
            if let Some(secs) = retry {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, secs.into());
            }
            response
        }
    }
}

async fn follow(State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Response> {
    let destination = site::links::follow(&state, &id).await?;
    // 302 Found, as email clients and browsers expect of a click-through.
    Ok((StatusCode::FOUND, [(header::LOCATION, destination)]).into_response())
}

async fn unsubscribe(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let account_id = site::check_opt_out_token(&state, &token).ok_or_else(AppError::not_found)?;
    state
        .store
        .opt_out_of_announcements(&account_id, state.clock.unix())
        .await?;
    Ok(MessagePage::new(
        Nav::anonymous(&csrf),
        "You will get no more announcements",
        &["We stopped service announcements to this address. Messages about your account itself (sign-in, security, tickets) still arrive."],
    )
    .link("/", "Go to the home page")
    .respond(StatusCode::OK))
}

#[derive(Template)]
#[template(path = "support.html")]
struct SupportPage {
    nav: Nav,
    tickets: Vec<TicketRow>,
    subject: String,
    message: String,
    error: Option<String>,
}

impl SupportPage {
    fn date(&self, unix: &i64) -> String {
        site::day_text(*unix)
    }
}

async fn support_page(
    state: &AppState,
    nav: Nav,
    account_id: &AccountId,
    subject: String,
    message: String,
    error: Option<AppError>,
) -> Response {
    let tickets = match state.store.tickets_of(account_id).await {
        Ok(t) => t,
        Err(err) => return AppError::from(err).into_response(),
    };
    let status = error.as_ref().map_or(StatusCode::OK, failed_status);
    render(
        status,
        &SupportPage {
            nav,
            tickets,
            subject,
            message,
            error: error.map(|e| e.message),
        },
    )
}

async fn support(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
) -> Response {
    let nav = Nav::signed(&csrf, &signed);
    support_page(
        &state,
        nav,
        &signed.account.id,
        String::new(),
        String::new(),
        None,
    )
    .await
}

#[derive(Deserialize, Default)]
struct TicketForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    message: String,
}

async fn open_ticket(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    CsrfForm(form): CsrfForm<TicketForm>,
) -> Response {
    match site::open_ticket(&state, &signed.account, &form.subject, &form.message).await {
        Ok(id) => Redirect::to(&format!("/support/{id}")).into_response(),
        Err(err) => {
            let nav = Nav::signed(&csrf, &signed);
            support_page(
                &state,
                nav,
                &signed.account.id,
                form.subject,
                form.message,
                Some(err),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "ticket.html")]
pub struct TicketPage {
    pub nav: Nav,
    pub ticket: TicketRow,
    pub messages: Vec<TicketMessage>,
    pub action: String,
    pub operator: bool,
    pub error: Option<String>,
}

impl TicketPage {
    fn date(&self, unix: &i64) -> String {
        chrono::DateTime::from_timestamp(*unix, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    }
}

async fn own_ticket(state: &AppState, account_id: &AccountId, id: &str) -> AppResult<TicketRow> {
    state
        .store
        .ticket(id)
        .await?
        .filter(|t| t.account_id == *account_id)
        .ok_or_else(AppError::not_found)
}

async fn ticket(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let ticket = own_ticket(&state, &signed.account.id, &id).await?;
    let messages = state.store.ticket_messages(&ticket.id).await?;
    Ok(render(
        StatusCode::OK,
        &TicketPage {
            nav: Nav::signed(&csrf, &signed),
            action: format!("/support/{}", ticket.id),
            ticket,
            messages,
            operator: false,
            error: None,
        },
    ))
}

#[derive(Deserialize, Default)]
struct ReplyForm {
    #[serde(default)]
    message: String,
}

async fn reply(
    State(state): State<AppState>,
    PageTherapist(signed): PageTherapist,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> AppResult<Response> {
    site::therapist_reply(&state, &signed.account, &id, &form.message).await?;
    Ok(Redirect::to(&format!("/support/{id}")).into_response())
}
