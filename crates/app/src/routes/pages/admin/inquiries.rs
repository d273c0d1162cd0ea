//! Privacy inquiries from the contact form: the queue by due date, one
//! inquiry, and the emailed answer.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::super::{render, Nav};
use super::{audited_redirect, Dates};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::operator::PageOperator;
use crate::error::{AppError, AppResult};
use crate::extract::PeerAddr;
use crate::site;
use crate::state::AppState;
use crate::store::InquiryRow;

#[derive(Template)]
#[template(path = "admin_inquiries.html")]
struct Inquiries {
    nav: Nav,
    rows: Vec<InquiryRow>,
    now: i64,
}

impl Dates for Inquiries {}

impl Inquiries {
    fn overdue(&self, row: &InquiryRow) -> bool {
        row.status == "open" && row.due_at < self.now
    }
    fn days_left(&self, row: &InquiryRow) -> i64 {
        (row.due_at - self.now).div_euclid(86_400)
    }
}

pub(super) async fn list(
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

impl Dates for InquiryPage {}

pub(super) async fn show(
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
pub(super) struct Reply {
    #[serde(default)]
    reply: String,
}

pub(super) async fn answer(
    State(state): State<AppState>,
    PageOperator(signed): PageOperator,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<Reply>,
) -> AppResult<Response> {
    site::answer_inquiry(&state, &signed.account, &id, &form.reply).await?;
    audited_redirect(&state, &signed.account.id, None, addr, "/admin/inquiries").await
}
