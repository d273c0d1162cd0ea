//! Extractors for operators (roles admin and support). Operators always
//! sign in with a second factor: an operator account without TOTP enrolled
//! is refused here even if it got a session somehow.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::session::{ApiAuth, PageAuth, Signed};
use crate::error::AppError;
use crate::state::AppState;

fn check(signed: &Signed) -> Result<(), AppError> {
    if !signed.account.role().is_operator() {
        return Err(AppError::forbidden(
            "operators_only",
            "This is for Regroup operators.",
        ));
    }
    if !signed.account.totp_enabled() {
        return Err(AppError::forbidden(
            "totp_required",
            "Operators must sign in with an authenticator app.",
        ));
    }
    Ok(())
}

/// An API caller who is an operator with TOTP.
pub struct ApiOperator(pub Signed);

impl<S> FromRequestParts<S> for ApiOperator
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiAuth(signed) = ApiAuth::from_request_parts(parts, state).await?;
        check(&signed)?;
        Ok(ApiOperator(signed))
    }
}

/// A browser session of an operator with TOTP.
pub struct PageOperator(pub Signed);

impl<S> FromRequestParts<S> for PageOperator
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PageAuth(signed) = PageAuth::from_request_parts(parts, state).await?;
        check(&signed).map_err(IntoResponse::into_response)?;
        Ok(PageOperator(signed))
    }
}
