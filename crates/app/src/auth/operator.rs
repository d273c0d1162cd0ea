//! Extractors for operators (roles admin and support). Operators always
//! sign in with a second factor: an operator account without TOTP enrolled
//! is refused here even if it got a session somehow.

use axum::response::{IntoResponse, Response};

use super::session::{role_gate, ApiAuth, PageAuth, Signed};
use crate::error::AppError;

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

role_gate!(
    /// An API caller who is an operator with TOTP.
    ApiOperator, ApiAuth, AppError, check, |e| e
);
role_gate!(
    /// A browser session of an operator with TOTP.
    PageOperator, PageAuth, Response, check, IntoResponse::into_response
);
