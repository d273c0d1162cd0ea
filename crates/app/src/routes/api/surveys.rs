//! `POST /api/v1/surveys`: an anonymous answer to the survey offered when a
//! session ends. The ticket from the room's `ended` message is the only
//! proof asked for; no sign-in, and nothing about the sender is kept.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{AppResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::surveys::{self, Submission};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(answer))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswerBody {
    /// The `survey` ticket from the room's `ended` message; it works once.
    ticket: String,
    /// The call's sound and picture, 1 (very poor) to 5 (excellent).
    #[schema(minimum = 1, maximum = 5)]
    quality: i64,
    /// The session as a whole, 1 (very poor) to 5 (excellent).
    #[schema(minimum = 1, maximum = 5)]
    experience: i64,
    /// Up to 500 characters; line breaks are the only control characters allowed.
    #[schema(max_length = 500)]
    comment: Option<String>,
}

/// Answers the satisfaction survey of a session that just ended.
///
/// Stored without any link to a person, session or account: only the week,
/// the kind and size of the session, the answerer's role, the ratings and
/// the comment.
#[utoipa::path(operation_id = "surveys_answer", post, path = "/api/v1/surveys", tag = "surveys",
    request_body = SurveyAnswerBody,
    responses((status = 204, description = "Recorded"),
        (status = 403, body = ErrorBody, description = "`invalid_ticket`: not a ticket from this server"),
        (status = 409, body = ErrorBody, description = "`already_answered`: this ticket was used"),
        (status = 410, body = ErrorBody, description = "`survey_closed`: the ticket has expired")))]
#[tracing::instrument(skip_all)]
async fn answer(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SurveyAnswerBody>,
) -> AppResult<StatusCode> {
    surveys::submit(
        &state,
        Submission {
            ticket: &body.ticket,
            quality: body.quality,
            experience: body.experience,
            comment: body.comment.as_deref(),
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
