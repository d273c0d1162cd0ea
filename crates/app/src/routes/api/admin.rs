//! The operators' API: aggregate analytics and survey figures only, never
//! client data.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::operator::ApiOperator;
use crate::error::{AppResult, ErrorBody};
use crate::extract::QueryString;
use crate::site::summary::{self, Summary};
use crate::state::AppState;
use crate::surveys::{self, OperatorView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(analytics_summary))
        .routes(routes!(surveys))
}

#[derive(Deserialize, IntoParams)]
pub struct SummaryRange {
    /// First day, `YYYY-MM-DD` (UTC); default: 29 days before `to`.
    from: Option<String>,
    /// Last day, included; default: today.
    to: Option<String>,
}

/// Visitors, page views, device shares, top pages, referrers, browsers and
/// email click-through for a range of days. Bots are left out of every count
/// but `bot_pageviews`; a visitor is one browser on one day.
#[utoipa::path(operation_id = "admin_analytics_summary", get, path = "/api/v1/admin/analytics/summary", tag = "admin",
    security(("bearer" = [])), params(SummaryRange),
    responses((status = 200, body = Summary), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an operator"),
        (status = 422, body = ErrorBody, description = "Bad date or range")))]
async fn analytics_summary(
    State(state): State<AppState>,
    _operator: ApiOperator,
    QueryString(range): QueryString<SummaryRange>,
) -> AppResult<Json<Summary>> {
    let range = summary::range(&state, range.from.as_deref(), range.to.as_deref())?;
    Ok(Json(summary::summarize(&state, range).await?))
}

/// Satisfaction survey figures per ISO week and session kind, as on
/// `/admin/surveys`: a cell's figures are null below five answers, and a
/// week's comments are listed only from five comments on.
#[utoipa::path(operation_id = "admin_surveys", get, path = "/api/v1/admin/surveys", tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, body = OperatorView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an operator")))]
async fn surveys(
    State(state): State<AppState>,
    _operator: ApiOperator,
) -> AppResult<Json<OperatorView>> {
    Ok(Json(surveys::operator_view(&state).await?))
}
