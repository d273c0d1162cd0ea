//! The operators' directory of therapists, and the status changes they make.

use sqlx::FromRow;

use super::super::Store;

/// What the operators' directory shows of a therapist: never their clients.
#[derive(Clone, Debug, FromRow)]
pub struct DirectoryRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: String,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
}

impl Store {
    pub async fn therapist_directory(
        &self,
        search: &str,
    ) -> Result<Vec<DirectoryRow>, sqlx::Error> {
        let pattern = format!("%{}%", search.to_lowercase().replace(['%', '_'], ""));
        sqlx::query_as(
            "SELECT id, name, email, status, email_verified_at, created_at, last_sign_in_at \
             FROM accounts WHERE role = 'therapist' AND (LOWER(name) LIKE $1 OR LOWER(email) LIKE $1) \
             ORDER BY created_at DESC LIMIT 500",
        )
        .bind(pattern)
        .fetch_all(self.pool())
        .await
    }

    /// Only ever a therapist's: an operator cannot suspend another operator.
    pub async fn set_account_status(
        &self,
        id: &str,
        status: crate::store::AccountStatus,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE accounts SET status = $2, updated_at = $3 WHERE id = $1 AND role = 'therapist'",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
