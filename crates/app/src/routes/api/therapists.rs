use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts;
use crate::error::{AppResult, ErrorBody};
use crate::extract::{ApiJson, PeerAddr};
use crate::ids::AccountId;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sign_up))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    name: String,
    email: String,
    password: String,
    /// IANA name, e.g. `America/Chicago`; UTC when left out.
    #[serde(default)]
    time_zone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SignedUp {
    id: AccountId,
    name: String,
    email: String,
}

/// Signs a therapist up; a verification link is emailed.
#[utoipa::path(operation_id = "therapists_sign_up", post, path = "/api/v1/therapists", tag = "accounts", request_body = SignUp,
    responses(
        (status = 201, body = SignedUp, description = "Account created; verify the email to sign in"),
        (status = 409, body = ErrorBody, description = "Email taken"),
        (status = 422, body = ErrorBody, description = "A field is invalid"),
    ))]
#[tracing::instrument(skip_all)]
async fn sign_up(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    ApiJson(body): ApiJson<SignUp>,
) -> AppResult<(StatusCode, Json<SignedUp>)> {
    let account = accounts::register(
        &state,
        &body.name,
        &body.email,
        &body.password,
        body.time_zone.as_deref().unwrap_or(""),
        addr,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(SignedUp {
            id: account.id,
            name: account.name,
            email: account.email,
        }),
    ))
}
