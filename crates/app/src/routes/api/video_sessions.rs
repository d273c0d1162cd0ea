use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::session::ApiTherapist;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{ApiJson, QueryString};
use crate::ids::{ClientId, SessionId};
use crate::schedule::{self, Change, Plan, SessionView};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show, update, cancel))
        .routes(routes!(resend))
}

fn parse_time(field: &str, raw: &str) -> AppResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            AppError::invalid(
                field,
                "Use an RFC 3339 time such as 2026-12-01T15:00:00-06:00.",
            )
        })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// `individual` (one client) or `group` (1 to 15 clients)
    kind: String,
    title: Option<String>,
    /// Seen only by the therapist.
    notes: Option<String>,
    /// RFC 3339 with an offset.
    starts_at: String,
    duration_minutes: i64,
    /// IANA name of the therapist's time zone, used in emails.
    time_zone: String,
    client_ids: Vec<ClientId>,
    /// Repeat weekly for this many sessions in all (1 to 52).
    weekly_occurrences: Option<u32>,
}

/// Schedules a session (or a weekly series) and emails each client an invitation.
/// A series answers with its first session; the others share its `series_id`.
#[utoipa::path(operation_id = "video_sessions_create", post, path = "/api/v1/video-sessions", tag = "video sessions", security(("bearer" = [])), request_body = NewSession,
    responses((status = 201, body = SessionView), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    ApiJson(body): ApiJson<NewSession>,
) -> AppResult<(StatusCode, Json<SessionView>)> {
    let plan = Plan::parse(
        &body.kind,
        body.title.as_deref(),
        body.notes.as_deref(),
        parse_time("starts_at", &body.starts_at)?,
        body.duration_minutes,
        &body.time_zone,
        body.client_ids,
        body.weekly_occurrences,
        state.clock.now(),
    )?;
    let mut created = schedule::create(&state, &signed.account, plan).await?;
    // Plan::parse guarantees at least one occurrence.
    let first = created.remove(0);
    Ok((StatusCode::CREATED, Json(first)))
}

#[derive(Deserialize, IntoParams)]
pub struct Range {
    /// RFC 3339; default: now.
    from: Option<String>,
    /// RFC 3339; default: 90 days after `from`.
    to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    video_sessions: Vec<SessionView>,
}

/// Sessions starting in the range, by start time.
#[utoipa::path(operation_id = "video_sessions_list", get, path = "/api/v1/video-sessions", tag = "video sessions", security(("bearer" = [])), params(Range),
    responses((status = 200, body = SessionList), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    QueryString(range): QueryString<Range>,
) -> AppResult<Json<SessionList>> {
    let from = match &range.from {
        Some(raw) => parse_time("from", raw)?,
        None => state.clock.now(),
    };
    let to = match &range.to {
        Some(raw) => parse_time("to", raw)?,
        None => from + chrono::Duration::days(90),
    };
    if to <= from {
        return Err(AppError::invalid("to", "`to` must come after `from`."));
    }
    let video_sessions =
        schedule::list(&state, &signed.account, from.timestamp(), to.timestamp()).await?;
    Ok(Json(SessionList { video_sessions }))
}

/// One session; `404` for ids that are not this therapist's.
#[utoipa::path(operation_id = "video_sessions_show", get, path = "/api/v1/video-sessions/{id}", tag = "video sessions", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = SessionView), (status = 404, body = ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    Path(id): Path<SessionId>,
) -> AppResult<Json<SessionView>> {
    Ok(Json(schedule::get(&state, &signed.account, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    title: Option<String>,
    notes: Option<String>,
    starts_at: Option<String>,
    duration_minutes: Option<i64>,
    time_zone: Option<String>,
    /// The full new list of clients; added ones are invited, removed ones told.
    client_ids: Option<Vec<ClientId>>,
}

/// Changes time, duration, title, notes or participants; affected clients are emailed.
#[utoipa::path(operation_id = "video_sessions_update", patch, path = "/api/v1/video-sessions/{id}", tag = "video sessions", security(("bearer" = [])), request_body = SessionPatch,
    params(("id" = String, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn update(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    Path(id): Path<SessionId>,
    ApiJson(body): ApiJson<SessionPatch>,
) -> AppResult<Json<SessionView>> {
    let change = Change {
        title: body.title,
        notes: body.notes,
        starts_at: body
            .starts_at
            .as_deref()
            .map(|raw| parse_time("starts_at", raw))
            .transpose()?,
        duration_minutes: body.duration_minutes,
        time_zone: body.time_zone,
        client_ids: body.client_ids,
    };
    Ok(Json(
        schedule::update(&state, &signed.account, &id, change).await?,
    ))
}

/// Cancels the session; every invited client is told and their links stop working.
#[utoipa::path(operation_id = "video_sessions_cancel", delete, path = "/api/v1/video-sessions/{id}", tag = "video sessions", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn cancel(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    Path(id): Path<SessionId>,
) -> AppResult<StatusCode> {
    schedule::cancel(&state, &signed.account, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Emails the invitation to one client again.
#[utoipa::path(operation_id = "video_sessions_resend", post, path = "/api/v1/video-sessions/{id}/invitations/{client_id}/resend", tag = "video sessions", security(("bearer" = [])),
    params(("id" = String, Path), ("client_id" = String, Path)), responses((status = 202), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn resend(
    State(state): State<AppState>,
    ApiTherapist(signed): ApiTherapist,
    Path((id, client_id)): Path<(SessionId, ClientId)>,
) -> AppResult<StatusCode> {
    schedule::resend(&state, &signed.account, &id, &client_id).await?;
    Ok(StatusCode::ACCEPTED)
}
