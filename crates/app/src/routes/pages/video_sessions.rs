//! Scheduled video sessions: list, plan, show, reschedule, cancel, resend invitations.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::form::failed_status;
use super::{render, Nav};
use crate::auth::csrf::{CsrfForm, CsrfToken};
use crate::auth::session::{PageTherapist, Signed};
use crate::clients::{self, Listed};
use crate::error::{AppError, AppResult};
use crate::extract::PeerAddr;
use crate::ids::{ClientId, SessionId};
use crate::schedule::{self, invitations, Change, Plan, SessionView};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list))
        .route("/sessions/new", get(new).post(create))
        .route("/sessions/{id}", get(show))
        .route("/sessions/{id}/reschedule", post(reschedule))
        .route("/sessions/{id}/cancel", post(cancel))
        .route("/sessions/{id}/resend/{client_id}", post(resend))
}

/// A session line for lists, in the therapist's time zone.
pub struct SessionLine {
    pub id: String,
    pub when: String,
    pub title: String,
    pub kind: String,
    pub status: String,
    pub people: usize,
}

impl SessionLine {
    pub fn from_view(view: &SessionView, tz: &str) -> Self {
        let starts = chrono::DateTime::parse_from_rfc3339(&view.starts_at)
            .map(|t| t.timestamp())
            .unwrap_or_default();
        Self {
            id: view.id.to_string(),
            when: schedule::short_local(starts, tz),
            title: view.title.clone(),
            kind: view.kind.clone(),
            status: view.status.clone(),
            people: view
                .participants
                .iter()
                .filter(|p| p.invitation_status != "revoked")
                .count(),
        }
    }
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    nav: Nav,
    sessions: Vec<SessionLine>,
    time_zone: String,
}

async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
) -> Response {
    let now = state.clock.unix();
    match schedule::list(&state, &signed.account, now - 4 * 3600, now + 90 * 86400).await {
        Ok(views) => {
            let tz = signed.account.time_zone.clone();
            let sessions = views
                .iter()
                .map(|v| SessionLine::from_view(v, &tz))
                .collect();
            render(
                StatusCode::OK,
                &SessionsPage {
                    nav: Nav::signed(&csrf, &signed),
                    sessions,
                    time_zone: tz,
                },
            )
        }
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize, Default)]
struct NewSessionForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    client_ids: Vec<ClientId>,
    #[serde(default)]
    weekly_occurrences: String,
    #[serde(default)]
    notes: String,
}

#[derive(Template)]
#[template(path = "session_new.html")]
struct NewSessionPage {
    nav: Nav,
    form: NewSessionForm,
    /// (id, name, checked)
    clients: Vec<(String, String, bool)>,
    error: Option<String>,
    error_field: String,
}

const DURATIONS: [i64; 7] = [15, 30, 45, 50, 60, 90, 120];

impl NewSessionPage {
    fn durations(&self) -> Vec<(i64, bool)> {
        let chosen: i64 = self.form.duration_minutes.parse().unwrap_or(50);
        DURATIONS.iter().map(|d| (*d, *d == chosen)).collect()
    }
}

async fn client_choices(
    state: &AppState,
    signed: &Signed,
    addr: std::net::IpAddr,
    checked: &[ClientId],
) -> AppResult<Vec<(String, String, bool)>> {
    Ok(clients::list(state, &signed.account, None, addr)
        .await?
        .into_iter()
        .filter_map(|entry| match entry {
            Listed::Readable(c) => {
                let on = checked.contains(&c.id);
                Some((c.id.to_string(), c.name, on))
            }
            Listed::Unreadable(_) => None,
        })
        .collect())
}

async fn new_page(
    state: &AppState,
    csrf: &CsrfToken,
    signed: &Signed,
    addr: std::net::IpAddr,
    form: NewSessionForm,
    error: Option<&AppError>,
) -> Response {
    let clients = match client_choices(state, signed, addr, &form.client_ids).await {
        Ok(clients) => clients,
        Err(err) => return err.into_response(),
    };
    let page = NewSessionPage {
        nav: Nav::signed(csrf, signed),
        form,
        clients,
        error: error.map(|e| e.message.clone()),
        error_field: error.and_then(|e| e.field.clone()).unwrap_or_default(),
    };
    render(error.map(failed_status).unwrap_or(StatusCode::OK), &page)
}

async fn new(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
) -> Response {
    let (date, time) = next_quarter_hour(state.clock.now(), &signed.account.time_zone);
    let form = NewSessionForm {
        kind: "individual".into(),
        date,
        time,
        time_zone: signed.account.time_zone.clone(),
        duration_minutes: "50".into(),
        weekly_occurrences: "1".into(),
        ..NewSessionForm::default()
    };
    new_page(&state, &csrf, &signed, addr, form, None).await
}

/// The form starts at the next quarter hour in the therapist's zone, so a
/// session for right now takes no typing, and its room opens at once (rooms
/// open 30 minutes before the start).
fn next_quarter_hour(now: chrono::DateTime<chrono::Utc>, zone: &str) -> (String, String) {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let quarter = 15 * 60;
    let next = (now.timestamp() / quarter + 1) * quarter;
    let local = chrono::DateTime::from_timestamp(next, 0)
        .unwrap_or(now)
        .with_timezone(&tz);
    (
        local.format("%Y-%m-%d").to_string(),
        local.format("%H:%M").to_string(),
    )
}

fn parse_number<T: std::str::FromStr>(field: &str, raw: &str, default: T) -> AppResult<T> {
    if raw.trim().is_empty() {
        return Ok(default);
    }
    raw.trim()
        .parse()
        .map_err(|_| AppError::invalid(field, "Enter a whole number."))
}

async fn create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    CsrfForm(form): CsrfForm<NewSessionForm>,
) -> Response {
    let planned = async {
        let tz = schedule::parse_time_zone(&form.time_zone)?;
        let plan = Plan::parse(
            &form.kind,
            Some(&form.title),
            Some(&form.notes),
            schedule::local_to_utc(&form.date, &form.time, tz)?,
            parse_number("duration_minutes", &form.duration_minutes, 50)?,
            &form.time_zone,
            form.client_ids.clone(),
            Some(parse_number(
                "weekly_occurrences",
                &form.weekly_occurrences,
                1,
            )?),
            state.clock.now(),
        )?;
        schedule::create(&state, &signed.account, plan).await
    }
    .await;
    match planned {
        Ok(created) => Redirect::to(&format!("/sessions/{}", created[0].id)).into_response(),
        Err(err) => new_page(&state, &csrf, &signed, addr, form, Some(&err)).await,
    }
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    nav: Nav,
    session: SessionView,
    when: String,
    /// (client id, name, invitation status)
    people: Vec<(String, String, String)>,
    date: String,
    time: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn session_page(
    state: &AppState,
    csrf: &CsrfToken,
    signed: &Signed,
    addr: std::net::IpAddr,
    id: &SessionId,
    notice: Option<&str>,
    error: Option<&AppError>,
) -> Response {
    let loaded = async {
        let session = schedule::get(state, &signed.account, id).await?;
        let names = client_choices(state, signed, addr, &[]).await?;
        Ok::<_, AppError>((session, names))
    }
    .await;
    let (session, names) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return err.into_response(),
    };
    let starts = chrono::DateTime::parse_from_rfc3339(&session.starts_at)
        .map(|t| t.timestamp())
        .unwrap_or_default();
    let tz: chrono_tz::Tz = session.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = chrono::DateTime::from_timestamp(starts, 0)
        .unwrap_or_default()
        .with_timezone(&tz);
    let people = session
        .participants
        .iter()
        .map(|p| {
            let name = names
                .iter()
                .find(|(cid, _, _)| cid.as_str() == p.client_id.as_str())
                .map(|(_, n, _)| n.clone())
                .unwrap_or_default();
            (p.client_id.to_string(), name, p.invitation_status.clone())
        })
        .collect();
    let page = SessionPage {
        nav: Nav::signed(csrf, signed),
        when: invitations::when(starts, &session.time_zone),
        date: local.format("%Y-%m-%d").to_string(),
        time: local.format("%H:%M").to_string(),
        session,
        people,
        notice: notice.map(str::to_owned),
        error: error.map(|e| e.message.clone()),
    };
    render(error.map(failed_status).unwrap_or(StatusCode::OK), &page)
}

async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<SessionId>,
) -> Response {
    session_page(&state, &csrf, &signed, addr, &id, None, None).await
}

#[derive(Deserialize, Default)]
struct RescheduleForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    duration_minutes: String,
}

async fn reschedule(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<SessionId>,
    CsrfForm(form): CsrfForm<RescheduleForm>,
) -> Response {
    let result = async {
        let current = schedule::get(&state, &signed.account, &id).await?;
        let tz = schedule::parse_time_zone(&current.time_zone)?;
        let change = Change {
            starts_at: Some(schedule::local_to_utc(&form.date, &form.time, tz)?),
            duration_minutes: Some(parse_number(
                "duration_minutes",
                &form.duration_minutes,
                current.duration_minutes,
            )?),
            ..Change::default()
        };
        schedule::update(&state, &signed.account, &id, change).await
    }
    .await;
    match result {
        Ok(_) => {
            session_page(
                &state,
                &csrf,
                &signed,
                addr,
                &id,
                Some("Rescheduled. Your clients were told."),
                None,
            )
            .await
        }
        Err(err) if err.status == StatusCode::NOT_FOUND => err.into_response(),
        Err(err) => session_page(&state, &csrf, &signed, addr, &id, None, Some(&err)).await,
    }
}

async fn cancel(
    State(state): State<AppState>,
    PageTherapist(signed): PageTherapist,
    Path(id): Path<SessionId>,
    CsrfForm(_): CsrfForm<RescheduleForm>,
) -> Result<Redirect, AppError> {
    schedule::cancel(&state, &signed.account, &id).await?;
    Ok(Redirect::to(&format!("/sessions/{id}")))
}

async fn resend(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    Path((id, client_id)): Path<(SessionId, ClientId)>,
    CsrfForm(_): CsrfForm<RescheduleForm>,
) -> Response {
    match schedule::resend(&state, &signed.account, &id, &client_id).await {
        Ok(()) => {
            session_page(
                &state,
                &csrf,
                &signed,
                addr,
                &id,
                Some("Invitation sent again."),
                None,
            )
            .await
        }
        Err(err) => err.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::next_quarter_hour;

    #[test]
    fn the_new_session_form_starts_at_the_next_quarter_hour_in_the_therapists_zone() {
        let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        assert_eq!(
            next_quarter_hour(at("2026-11-30T09:07:00Z"), "Europe/Berlin"),
            ("2026-11-30".into(), "10:15".into())
        );
        // On the quarter, the next one; past midnight, the next day.
        assert_eq!(
            next_quarter_hour(at("2026-11-30T23:45:00Z"), "UTC"),
            ("2026-12-01".into(), "00:00".into())
        );
    }
}
