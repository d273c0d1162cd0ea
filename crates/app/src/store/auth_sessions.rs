//! Sign-in sessions (cookie or bearer token, stored as a hash): `auth_sessions`.

use std::sync::LazyLock;

use sqlx::FromRow;

use super::{accounts, Account, Store};
use crate::ids::AccountId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser session carried by a cookie.
    Cookie,
    /// An API session carried by `Authorization: Bearer`.
    Bearer,
    /// Password accepted, second factor still to come; good for nothing else.
    SecondFactor,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Cookie => "cookie",
            SessionKind::Bearer => "bearer",
            SessionKind::SecondFactor => "second_factor",
        }
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct AuthSession {
    pub token_hash: String,
    pub account_id: AccountId,
    pub kind: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// A session's timing and its account, read together: every signed-in
/// request reads both, and one query is one round trip to the database.
#[derive(Debug, FromRow)]
pub struct SessionAccount {
    pub last_seen_at: i64,
    pub expires_at: i64,
    #[sqlx(flatten)]
    pub account: Account,
}

/// The account's own columns stay unqualified: the session's side is a
/// subquery whose column names the accounts table does not have.
static SESSION_ACCOUNT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, s.last_seen_at, s.expires_at FROM accounts \
         JOIN (SELECT account_id, last_seen_at, expires_at FROM auth_sessions \
         WHERE token_hash = $1 AND kind = $2) s ON s.account_id = accounts.id",
        accounts::COLUMNS
    )
});

impl Store {
    pub async fn insert_auth_session(
        &self,
        token_hash: &str,
        account_id: &AccountId,
        kind: SessionKind,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_sessions (token_hash, account_id, kind, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(kind.as_str())
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The session of this kind with its account; `None` when either is gone.
    pub async fn session_account(
        &self,
        token_hash: &str,
        kind: SessionKind,
    ) -> Result<Option<SessionAccount>, sqlx::Error> {
        sqlx::query_as(SESSION_ACCOUNT.as_str())
            .bind(token_hash)
            .bind(kind.as_str())
            .fetch_optional(self.pool())
            .await
    }

    pub async fn touch_auth_session(&self, token_hash: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE auth_sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn delete_auth_session(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM auth_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Signs the account out everywhere, keeping at most the one session named.
    pub async fn delete_auth_sessions_except(
        &self,
        account_id: &AccountId,
        keep_token_hash: Option<&str>,
    ) -> Result<u64, sqlx::Error> {
        let result =
            sqlx::query("DELETE FROM auth_sessions WHERE account_id = $1 AND token_hash <> $2")
                .bind(account_id)
                .bind(keep_token_hash.unwrap_or(""))
                .execute(self.pool())
                .await?;
        Ok(result.rows_affected())
    }

    pub async fn auth_sessions_of(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<AuthSession>, sqlx::Error> {
        sqlx::query_as(
            "SELECT token_hash, account_id, kind, created_at, last_seen_at, expires_at \
             FROM auth_sessions WHERE account_id = $1 AND kind <> 'second_factor' ORDER BY last_seen_at DESC",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn purge_expired_auth_sessions(
        &self,
        now: i64,
        idle_secs: i64,
    ) -> Result<u64, sqlx::Error> {
        let result =
            sqlx::query("DELETE FROM auth_sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now)
                .bind(now - idle_secs)
                .execute(self.pool())
                .await?;
        Ok(result.rows_affected())
    }
}
