//! Announcements to every therapist: drafts, a preview as one recipient will
//! read it, and the send.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;

use super::super::{render, Nav};
use super::{audited_redirect, form_outcome, Dates, Empty};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::operator::{require_admin, PageAdmin, PageOperator};
use crate::error::{AppError, AppResult};
use crate::extract::PeerAddr;
use crate::site;
use crate::state::AppState;
use crate::store::AnnouncementRow;

#[derive(Template)]
#[template(path = "admin_announcements.html")]
struct Announcements {
    nav: Nav,
    rows: Vec<AnnouncementRow>,
    subject: String,
    body: String,
    error: Option<String>,
}

impl Dates for Announcements {}

/// The list with the draft form, empty or holding a rejected draft.
async fn page(
    state: &AppState,
    nav: Nav,
    form: AnnouncementForm,
    error: Option<AppError>,
) -> AppResult<Response> {
    let (status, error) = form_outcome(error);
    Ok(render(
        status,
        &Announcements {
            nav,
            rows: state.store.announcements().await?,
            subject: form.subject,
            body: form.body,
            error,
        },
    ))
}

pub(super) async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
) -> AppResult<Response> {
    let nav = Nav::signed(&csrf, &signed);
    page(&state, nav, AnnouncementForm::default(), None).await
}

#[derive(Deserialize, Default)]
pub(super) struct AnnouncementForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

pub(super) async fn draft(
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
        Err(err) => page(&state, Nav::signed(&csrf, &signed), form, Some(err)).await,
    }
}

#[derive(Template)]
#[template(path = "admin_announcement.html")]
struct AnnouncementPreview {
    nav: Nav,
    row: AnnouncementRow,
    preview: String,
    recipients: usize,
    /// Sending is for admins only.
    admin: bool,
}

pub(super) async fn preview(
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
            admin: require_admin(&signed).is_ok(),
        },
    ))
}

pub(super) async fn send(
    State(state): State<AppState>,
    PageAdmin(signed): PageAdmin,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    site::send_announcement(&state, &id).await?;
    let to = format!("/admin/announcements/{id}");
    audited_redirect(&state, &signed.account.id, None, addr, &to).await
}
