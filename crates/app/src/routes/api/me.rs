use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::{self, ProfileChange, TherapistView};
use crate::auth::session::ApiTherapist;
use crate::calendar_feed::{self, FeedStatus};
use crate::error::{AppResult, ErrorBody};
use crate::extract::{ApiJson, PeerAddr};
use crate::state::AppState;
use crate::surveys::{self, TherapistSummary};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, update, delete))
        .routes(routes!(export))
        .routes(routes!(calendar_feed_on, calendar_feed_off))
        .routes(routes!(survey_summary))
}

/// The signed-in therapist's satisfaction figures: averages of their
/// clients' anonymous survey answers, only once at least five stand behind
/// them (`answers` and the averages are null until then).
#[utoipa::path(operation_id = "me_survey_summary", get, path = "/api/v1/me/survey-summary", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = TherapistSummary), (status = 401, body = ErrorBody)))]
async fn survey_summary(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
) -> AppResult<Json<TherapistSummary>> {
    Ok(Json(
        surveys::therapist_summary(&state, &signed.account.id).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    therapist: TherapistView,
    /// Whether the calendar feed is on. Its URL is not here: only a hash of
    /// its secret is kept, so the URL is returned once, by
    /// `POST /api/v1/me/calendar-feed`; post again for a new one.
    calendar_feed: FeedStatus,
}

/// The signed-in therapist's profile.
#[utoipa::path(operation_id = "me_show", get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MeView), (status = 401, body = ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
) -> AppResult<Json<MeView>> {
    let calendar_feed = calendar_feed::status(&state, &signed.account).await?;
    Ok(Json(MeView {
        therapist: TherapistView::from(&signed.account),
        calendar_feed,
    }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CalendarFeedOptions {
    /// Events show the session titles you wrote instead of "Session" or
    /// "Group session". Keep client names out of titles if you turn this on.
    #[serde(default)]
    show_titles: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarFeedUrl {
    /// The private feed address; shown only now (only its hash is kept).
    url: String,
}

/// Turns the calendar feed on, or gives it a new address (the old one stops working).
#[utoipa::path(operation_id = "me_calendar_feed_on", post, path = "/api/v1/me/calendar-feed", tag = "me", security(("bearer" = [])),
    request_body(content = Option<CalendarFeedOptions>, description = "Optional; `{}` or no body shows generic titles"),
    responses((status = 200, body = CalendarFeedUrl), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn calendar_feed_on(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    PeerAddr(addr): PeerAddr,
    body: Option<ApiJson<CalendarFeedOptions>>,
) -> AppResult<Json<CalendarFeedUrl>> {
    let options = body.map(|ApiJson(o)| o).unwrap_or_default();
    let url = calendar_feed::turn_on(&state, &signed.account, options.show_titles, addr).await?;
    Ok(Json(CalendarFeedUrl { url }))
}

/// Turns the calendar feed off: its address answers 404 from now on.
#[utoipa::path(operation_id = "me_calendar_feed_off", delete, path = "/api/v1/me/calendar-feed", tag = "me", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn calendar_feed_off(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    PeerAddr(addr): PeerAddr,
) -> AppResult<StatusCode> {
    calendar_feed::turn_off(&state, &signed.account, addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    name: Option<String>,
    /// A new address takes effect when the link sent to it is opened.
    email: Option<String>,
    credential: Option<String>,
    license_number: Option<String>,
    practice_states: Option<String>,
    bio: Option<String>,
    /// IANA name, e.g. `America/Chicago`.
    time_zone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PatchedProfile {
    #[serde(flatten)]
    therapist: TherapistView,
    /// The new email waits for confirmation from that address.
    email_change_pending: bool,
}

/// Changes profile fields; all are checked before any is saved.
#[utoipa::path(operation_id = "me_update", patch, path = "/api/v1/me", tag = "me", security(("bearer" = [])), request_body = ProfilePatch,
    responses((status = 200, body = PatchedProfile), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> AppResult<Json<PatchedProfile>> {
    let change = ProfileChange {
        name: patch.name,
        email: patch.email,
        credential: patch.credential,
        license_number: patch.license_number,
        practice_states: patch.practice_states,
        bio: patch.bio,
        time_zone: patch.time_zone,
    };
    let updated = accounts::update_profile(&state, &signed.account, change).await?;
    Ok(Json(PatchedProfile {
        therapist: TherapistView::from(&updated.account),
        email_change_pending: updated.email_change_pending,
    }))
}

/// Everything the platform holds about the therapist.
#[utoipa::path(operation_id = "me_export", get, path = "/api/v1/me/export", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "A JSON document", body = Object), (status = 401, body = ErrorBody)))]
async fn export(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    PeerAddr(addr): PeerAddr,
) -> AppResult<Json<serde_json::Value>> {
    Ok(Json(
        crate::export::gather(&state, &signed.account, addr).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteBody {
    password: String,
    totp_code: Option<String>,
}

/// Deletes the account, confirmed with the password (and TOTP when enrolled).
#[utoipa::path(operation_id = "me_delete", delete, path = "/api/v1/me", tag = "me", security(("bearer" = [])), request_body = DeleteBody,
    responses((status = 204), (status = 422, body = ErrorBody, description = "Wrong password or code")))]
#[tracing::instrument(skip_all)]
async fn delete(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    PeerAddr(addr): PeerAddr,
    ApiJson(body): ApiJson<DeleteBody>,
) -> AppResult<StatusCode> {
    accounts::delete(
        &state,
        &signed.account,
        &body.password,
        body.totp_code.as_deref(),
        addr,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
