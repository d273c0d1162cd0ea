use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts;
use crate::audit::{self, Action};
use crate::auth::session::{self, ApiAuth};
use crate::auth::signin;
use crate::clock::rfc3339;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::extract::{ApiJson, PeerAddr};
use crate::state::AppState;
use crate::store::SessionKind;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
    /// The current code of the authenticator app, or a recovery code, when enrolled.
    totp_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginToken {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    /// Absolute expiry; the token also ends after the idle timeout.
    expires_at: String,
}

/// Signs in with email, password and (when enrolled) a TOTP or recovery code.
#[utoipa::path(operation_id = "auth_login", post, path = "/api/v1/auth/login", tag = "auth", request_body = Login,
    responses(
        (status = 200, body = LoginToken),
        (status = 401, body = ErrorBody, description = "Wrong credentials, or a second factor is needed (code `totp_required`)"),
        (status = 403, body = ErrorBody, description = "Email not verified, or account suspended"),
        (status = 429, body = ErrorBody, description = "Too many failures; see Retry-After"),
    ))]
#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    ApiJson(body): ApiJson<Login>,
) -> AppResult<Json<LoginToken>> {
    let account = signin::check_password(&state, &body.email, &body.password, addr).await?;
    if account.totp_enabled() {
        let code = body
            .totp_code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                AppError::unauthorized(
                    "totp_required",
                    "Enter the code from your authenticator app as `totp_code`.",
                )
                .with_field("totp_code")
            })?;
        signin::check_second_factor(&state, &account, code, addr).await?;
    }
    signin::finish(&state, &account, addr).await?;
    let (token, expires_at) = session::start(&state, &account.id, SessionKind::Bearer).await?;
    Ok(Json(LoginToken {
        token,
        expires_at: rfc3339(expires_at),
    }))
}

/// Ends the session of the bearer token.
#[utoipa::path(operation_id = "auth_logout", post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    ApiAuth(signed): ApiAuth,
    PeerAddr(addr): PeerAddr,
) -> AppResult<StatusCode> {
    state.store.delete_auth_session(&signed.token_hash).await?;
    audit::record_own(&state, &signed.account, Action::SignOut, addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: String,
}

/// Confirms an email address with the token from the emailed link.
#[utoipa::path(operation_id = "auth_verify_email", post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = TokenBody,
    responses((status = 204), (status = 410, body = ErrorBody, description = "Unknown, used or expired token")))]
async fn verify_email(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenBody>,
) -> AppResult<StatusCode> {
    accounts::verify_email(&state, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    email: String,
}

/// Mails a new verification link if the address has an unverified account.
/// The answer is the same whether or not it does.
#[utoipa::path(operation_id = "auth_resend_verification", post, path = "/api/v1/auth/resend-verification", tag = "auth", request_body = EmailBody,
    responses((status = 202)))]
async fn resend_verification(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    ApiJson(body): ApiJson<EmailBody>,
) -> AppResult<StatusCode> {
    accounts::resend_verification(&state, &body.email, addr).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Mails a password reset link if the address has an account (same answer either way).
#[utoipa::path(operation_id = "auth_forgot_password", post, path = "/api/v1/auth/forgot-password", tag = "auth", request_body = EmailBody,
    responses((status = 202)))]
async fn forgot_password(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    ApiJson(body): ApiJson<EmailBody>,
) -> AppResult<StatusCode> {
    accounts::request_password_reset(&state, &body.email, addr).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    token: String,
    password: String,
}

/// Sets a new password with the token from the emailed link; every session ends.
#[utoipa::path(operation_id = "auth_reset_password", post, path = "/api/v1/auth/reset-password", tag = "auth", request_body = ResetBody,
    responses((status = 204), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    ApiJson(body): ApiJson<ResetBody>,
) -> AppResult<StatusCode> {
    accounts::reset_password(&state, &body.token, &body.password, addr).await?;
    Ok(StatusCode::NO_CONTENT)
}
