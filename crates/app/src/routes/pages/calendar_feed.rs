//! The profile's calendar feed page: turn on, make a new address, turn off.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::form::failed_status;
use super::{render, Nav};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::session::{PageTherapist, Signed};
use crate::calendar_feed;
use crate::error::AppError;
use crate::extract::PeerAddr;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile/calendar", get(show))
        .route("/profile/calendar/on", post(turn_on))
        .route("/profile/calendar/off", post(turn_off))
}

#[derive(Template)]
#[template(path = "calendar_feed.html")]
struct CalendarFeedPage {
    nav: Nav,
    error: Option<String>,
    enabled: bool,
    created_at: Option<String>,
    show_titles: bool,
    /// Only right after it was made: the URL is not kept.
    new_url: Option<String>,
}

#[derive(Deserialize, Default)]
struct FeedForm {
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    show_titles: Option<String>,
}

async fn page(
    state: &AppState,
    csrf: &CsrfToken,
    signed: &Signed,
    new_url: Option<String>,
    error: Option<&AppError>,
) -> Response {
    let status = match calendar_feed::status(state, &signed.account).await {
        Ok(status) => status,
        Err(err) => return render_error(csrf, signed, &err),
    };
    let page = CalendarFeedPage {
        nav: Nav::signed(csrf, signed),
        error: error.map(|e| e.message.clone()),
        enabled: status.enabled,
        // The day is enough here; the API gives the exact time.
        created_at: status
            .created_at
            .as_deref()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| crate::site::day_text(at.timestamp())),
        show_titles: status.show_titles,
        new_url,
    };
    render(error.map(failed_status).unwrap_or(StatusCode::OK), &page)
}

fn render_error(csrf: &CsrfToken, signed: &Signed, err: &AppError) -> Response {
    let page = CalendarFeedPage {
        nav: Nav::signed(csrf, signed),
        error: Some(err.message.clone()),
        enabled: false,
        created_at: None,
        show_titles: false,
        new_url: None,
    };
    render(failed_status(err), &page)
}

async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
) -> Response {
    page(&state, &csrf, &signed, None, None).await
}

async fn turn_on(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<FeedForm>,
) -> Response {
    let show_titles = form.show_titles.is_some();
    match calendar_feed::turn_on(&state, &signed.account, show_titles, addr).await {
        Ok(url) => page(&state, &csrf, &signed, Some(url), None).await,
        Err(err) => page(&state, &csrf, &signed, None, Some(&err)).await,
    }
}

async fn turn_off(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    CsrfForm(_): CsrfForm<FeedForm>,
) -> Response {
    match calendar_feed::turn_off(&state, &signed.account, addr).await {
        Ok(()) => page(&state, &csrf, &signed, None, None).await,
        Err(err) => page(&state, &csrf, &signed, None, Some(&err)).await,
    }
}
