//! The signed-in therapist's start page: upcoming sessions.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::TimeZone;

use super::video_sessions::SessionLine;
use super::{render, Nav};
use crate::auth::csrf::CsrfToken;
use crate::auth::session::PageTherapist;
use crate::schedule;
use crate::state::AppState;
use crate::surveys::{self, Averages, TherapistSummary};

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    totp_enabled: bool,
    today: Vec<SessionLine>,
    upcoming: Vec<SessionLine>,
    time_zone: String,
    /// Averages of the clients' survey answers (hidden below five).
    survey: Option<TherapistSummary>,
}

impl DashboardPage {
    fn shown(&self, value: &Option<f64>) -> String {
        Averages::shown(*value)
    }
}

async fn dashboard(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
) -> Response {
    let tz_name = signed.account.time_zone.clone();
    let tz: chrono_tz::Tz = tz_name.parse().unwrap_or(chrono_tz::UTC);
    let now = state.clock.now();
    // "Today" is the therapist's calendar day, not UTC's.
    let local_midnight = now
        .with_timezone(&tz)
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    let day_start = tz
        .from_local_datetime(&local_midnight)
        .earliest()
        .map(|t| t.timestamp())
        .unwrap_or(now.timestamp());
    let day_end = day_start + 86_400;
    let views = match schedule::list(
        &state,
        &signed.account,
        day_start,
        now.timestamp() + 14 * 86_400,
    )
    .await
    {
        Ok(views) => views,
        Err(err) => return err.into_response(),
    };
    let (today, upcoming): (Vec<_>, Vec<_>) = views
        .iter()
        .filter(|v| v.status != "cancelled")
        .map(|v| SessionLine::from_view(v, &tz_name))
        .zip(views.iter().filter(|v| v.status != "cancelled"))
        .partition(|(_, v)| {
            chrono::DateTime::parse_from_rfc3339(&v.starts_at)
                .map(|t| t.timestamp() < day_end)
                .unwrap_or(false)
        });
    let page = DashboardPage {
        nav: Nav::signed(&csrf, &signed),
        totp_enabled: signed.account.totp_enabled(),
        today: today.into_iter().map(|(line, _)| line).collect(),
        upcoming: upcoming.into_iter().map(|(line, _)| line).collect(),
        time_zone: tz_name,
        // The figures are a nicety: the dashboard shows without them.
        survey: surveys::therapist_summary(&state, &signed.account.id)
            .await
            .inspect_err(|err| tracing::warn!(error = %err, "could not read survey figures"))
            .ok(),
    };
    render(StatusCode::OK, &page)
}
