//! Extractors for operators (roles admin and support). Operators always
//! sign in with a second factor: an operator account without TOTP enrolled
//! is refused here even if it got a session somehow.

use axum::response::{IntoResponse, Response};

use super::session::{role_gate, ApiAuth, PageAuth, Signed};
use crate::error::AppError;
use crate::store::Role;

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

/// Admin only: what changes the platform for everyone or locks a therapist
/// out (policies, announcements, suspensions). Support answers tickets and
/// questions and reads what operators read, but cannot do these.
pub fn require_admin(signed: &Signed) -> Result<(), AppError> {
    check(signed)?;
    if signed.account.role() != Role::Admin {
        return Err(AppError::forbidden(
            "admins_only",
            "Only an administrator can do this.",
        ));
    }
    Ok(())
}

role_gate!(
    /// A browser session of an admin (not support) with TOTP.
    PageAdmin, PageAuth, Response, require_admin, IntoResponse::into_response
);

role_gate!(
    /// An API caller who is an operator with TOTP.
    ApiOperator, ApiAuth, AppError, check, |e| e
);
role_gate!(
    /// A browser session of an operator with TOTP.
    PageOperator, PageAuth, Response, check, IntoResponse::into_response
);
