//! Support tickets: the queue, one ticket's thread, and the operator's reply.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;

use super::super::site::TicketPage;
use super::super::{render, Nav};
use super::Dates;
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::operator::PageOperator;
use crate::error::{AppError, AppResult};
use crate::site;
use crate::state::AppState;
use crate::store::TicketRow;

#[derive(Template)]
#[template(path = "admin_tickets.html")]
struct Tickets {
    nav: Nav,
    rows: Vec<TicketRow>,
}

impl Dates for Tickets {}

pub(super) async fn list(
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

/// The therapist's own ticket page, opened up for the operator's reply.
pub(super) async fn show(
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
pub(super) struct TicketAnswer {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

pub(super) async fn answer(
    State(state): State<AppState>,
    PageOperator(signed): PageOperator,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<TicketAnswer>,
) -> AppResult<Response> {
    site::operator_reply(&state, &signed.account, &id, &form.message, &form.status).await?;
    Ok(Redirect::to(&format!("/admin/tickets/{id}")).into_response())
}
