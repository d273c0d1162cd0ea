//! Therapist and operator accounts: the `accounts` table, roles and status.

use sqlx::FromRow;

use super::{detached, Store, UnknownValue};
use crate::domain::ProfileDetails;
use crate::ids::AccountId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Therapist,
    Admin,
    Support,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Therapist => "therapist",
            Role::Admin => "admin",
            Role::Support => "support",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "therapist" => Some(Role::Therapist),
            "admin" => Some(Role::Admin),
            "support" => Some(Role::Support),
            _ => None,
        }
    }

    pub fn is_operator(self) -> bool {
        matches!(self, Role::Admin | Role::Support)
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownValue;

    fn try_from(raw: String) -> Result<Self, UnknownValue> {
        Self::parse(&raw).ok_or(UnknownValue("role", raw))
    }
}

/// Whether an account may sign in: operators suspend therapists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Suspended,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

impl TryFrom<String> for AccountStatus {
    type Error = UnknownValue;

    fn try_from(raw: String) -> Result<Self, UnknownValue> {
        match raw.as_str() {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            _ => Err(UnknownValue("status", raw)),
        }
    }
}

/// A row of `accounts`: a therapist or an operator.
#[derive(Clone, FromRow)]
pub struct Account {
    pub id: AccountId,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub email_verified_at: Option<i64>,
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<i64>,
    pub totp_last_step: Option<i64>,
    pub credential: String,
    pub license_number: String,
    pub practice_states: String,
    pub bio: String,
    pub time_zone: String,
    #[sqlx(try_from = "String")]
    pub status: AccountStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_sign_in_at: Option<i64>,
}

impl std::fmt::Debug for Account {
    // Only the id: names, emails and secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Account {
    pub fn role(&self) -> Role {
        self.role
    }

    pub fn totp_enabled(&self) -> bool {
        self.totp_enabled_at.is_some() && self.totp_secret.is_some()
    }

    pub fn is_suspended(&self) -> bool {
        self.status == AccountStatus::Suspended
    }
}

pub struct NewAccount<'a> {
    pub role: Role,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub email_verified: bool,
}

pub(super) const COLUMNS: &str =
    "id, role, name, email, password_hash, email_verified_at, totp_secret, \
    totp_enabled_at, totp_last_step, credential, license_number, practice_states, bio, \
    time_zone, status, created_at, updated_at, last_sign_in_at";

impl Store {
    /// Inserts an account; a duplicate email surfaces as a unique violation.
    pub async fn insert_account(
        &self,
        new: NewAccount<'_>,
        now: i64,
    ) -> Result<Account, sqlx::Error> {
        let id = AccountId::new();
        sqlx::query(
            "INSERT INTO accounts (id, role, name, email, password_hash, email_verified_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(new.role.as_str())
        .bind(new.name)
        .bind(new.email)
        .bind(new.password_hash)
        .bind(new.email_verified.then_some(now))
        .bind(now)
        .execute(self.pool())
        .await?;
        self.account_by_id(&id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn account_by_id(&self, id: &AccountId) -> Result<Option<Account>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn account_by_email(&self, email: &str) -> Result<Option<Account>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE email = $1"))
            .bind(email)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn mark_email_verified(&self, id: &AccountId, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE accounts SET email_verified_at = COALESCE(email_verified_at, $2), updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn record_sign_in(&self, id: &AccountId, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE accounts SET last_sign_in_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn update_name_and_profile(
        &self,
        id: &AccountId,
        name: &str,
        profile: &ProfileDetails,
        time_zone: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE accounts SET name = $2, credential = $3, license_number = $4, \
             practice_states = $5, bio = $6, time_zone = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(id)
        .bind(name)
        .bind(&profile.credential)
        .bind(&profile.license_number)
        .bind(&profile.practice_states)
        .bind(&profile.bio)
        .bind(time_zone)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets the time zone alone (sign-up takes it from the browser).
    pub async fn update_time_zone(
        &self,
        id: &AccountId,
        time_zone: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE accounts SET time_zone = $2 WHERE id = $1")
            .bind(id)
            .bind(time_zone)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Changes the email; a unique violation means another account has it.
    pub async fn update_email(
        &self,
        id: &AccountId,
        email: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE accounts SET email = $2, email_verified_at = $3, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(email)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn update_password_hash(
        &self,
        id: &AccountId,
        hash: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Stores a secret that is not in force until `enable_totp` confirms it.
    pub async fn set_pending_totp(
        &self,
        id: &AccountId,
        secret: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE accounts SET totp_secret = $2, totp_enabled_at = NULL, totp_last_step = NULL, \
             updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(secret)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Secrets not yet sealed (stored before sealing existed): id and value.
    pub async fn clear_totp_secrets(
        &self,
        sealed_prefix: &str,
    ) -> Result<Vec<(AccountId, String)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, totp_secret FROM accounts \
             WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE $1",
        )
        .bind(format!("{sealed_prefix}%"))
        .fetch_all(self.pool())
        .await
    }

    /// Swaps a secret for its sealed form, unless it changed meanwhile.
    pub async fn replace_totp_secret(
        &self,
        id: &AccountId,
        old: &str,
        new: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE accounts SET totp_secret = $3 WHERE id = $1 AND totp_secret = $2")
            .bind(id)
            .bind(old)
            .bind(new)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn enable_totp(
        &self,
        id: &AccountId,
        step: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE accounts SET totp_enabled_at = $2, totp_last_step = $3, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .bind(step)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn disable_totp(&self, id: &AccountId, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE accounts SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, \
             updated_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records that a TOTP time step was used, only if it is newer than the
    /// last one; returns false for a replayed code. The condition in the
    /// UPDATE makes this safe against two concurrent sign-ins with one code.
    pub async fn consume_totp_step(&self, id: &AccountId, step: i64) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE accounts SET totp_last_step = $2 \
             WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(id)
        .bind(step)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn delete_account(&self, id: &AccountId) -> Result<(), sqlx::Error> {
        let (pool, id) = (self.pool().clone(), id.to_owned());
        detached(self.slots(), async move {
            let mut tx = pool.begin().await?;
            // Explicit deletes, so the result does not depend on foreign-key pragmas.
            sqlx::query(
                "DELETE FROM session_participants WHERE session_id IN \
                 (SELECT id FROM video_sessions WHERE owner_id = $1)",
            )
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            for table in ["video_sessions", "clients"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE owner_id = $1"))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            for table in [
                "auth_sessions",
                "email_tokens",
                "recovery_codes",
                "calendar_feeds",
                "survey_therapist_totals",
            ] {
                sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM accounts WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_roles_and_statuses_are_errors_not_defaults() {
        assert_eq!(Role::try_from("support".to_owned()).unwrap(), Role::Support);
        assert!(Role::try_from("owner".to_owned()).is_err());
        assert_eq!(
            AccountStatus::try_from("suspended".to_owned()).unwrap(),
            AccountStatus::Suspended
        );
        let err = AccountStatus::try_from("paused".to_owned()).unwrap_err();
        assert!(err.to_string().contains("paused"), "{err}");
    }
}
