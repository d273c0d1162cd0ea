//! Single-use links mailed for verification, password reset and email change: `email_tokens`.

use sqlx::FromRow;

use super::Store;
use crate::ids::AccountId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::ChangeEmail => "change_email",
        }
    }
}

#[derive(Clone, FromRow)]
pub struct EmailToken {
    pub account_id: AccountId,
    pub new_email: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl Store {
    pub async fn insert_email_token(
        &self,
        token_hash: &str,
        account_id: &AccountId,
        purpose: TokenPurpose,
        new_email: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, account_id, purpose, new_email, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(new_email)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks the token used and returns it, only if it is unused and unexpired.
    /// One UPDATE does both, so two clicks cannot both succeed.
    pub async fn consume_email_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<EmailToken>, sqlx::Error> {
        sqlx::query_as(
            "UPDATE email_tokens SET used_at = $3 \
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING account_id, new_email, expires_at, used_at",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(self.pool())
        .await
    }

    /// Looks a token up without using it (to show the confirmation page).
    pub async fn peek_email_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<EmailToken>, sqlx::Error> {
        sqlx::query_as(
            "SELECT account_id, new_email, expires_at, used_at FROM email_tokens \
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(self.pool())
        .await
    }

    /// A newer link replaces older ones of the same purpose.
    pub async fn revoke_email_tokens(
        &self,
        account_id: &AccountId,
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE email_tokens SET used_at = $3 WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL")
            .bind(account_id)
            .bind(purpose.as_str())
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
