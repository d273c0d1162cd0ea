//! Policy versions (privacy policy, terms) and who acknowledged which.

use sqlx::FromRow;

use super::super::{detached, Store};
use crate::ids::AccountId;

#[derive(Clone, Debug, FromRow)]
pub struct PolicyVersion {
    pub kind: String,
    pub version: i64,
    pub body_md: String,
    pub body_html: String,
    pub effective_at: i64,
    pub published_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct Acknowledgement {
    pub kind: String,
    pub version: i64,
    pub acknowledged_at: i64,
}

const POLICY: &str = "kind, version, body_md, body_html, effective_at, published_at";

impl Store {
    /// Publishes the next version of `kind`; returns its number.
    pub async fn insert_policy_version(
        &self,
        kind: &str,
        body_md: &str,
        body_html: &str,
        effective_at: i64,
        now: i64,
        by: Option<&str>,
    ) -> Result<i64, sqlx::Error> {
        let (pool, kind, body_md, body_html, by) = (
            self.pool().clone(),
            kind.to_owned(),
            body_md.to_owned(),
            body_html.to_owned(),
            by.map(str::to_owned),
        );
        detached(self.slots(), async move {
            let mut tx = pool.begin().await?;
            let last: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM policy_versions WHERE kind = $1")
                    .bind(&kind)
                    .fetch_one(&mut *tx)
                    .await?;
            let version = last.unwrap_or(0) + 1;
            sqlx::query(
                "INSERT INTO policy_versions (kind, version, body_md, body_html, effective_at, published_at, published_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&kind)
            .bind(version)
            .bind(&body_md)
            .bind(&body_html)
            .bind(effective_at)
            .bind(now)
            .bind(&by)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(version)
        })
        .await
    }

    pub async fn policy_versions(&self, kind: &str) -> Result<Vec<PolicyVersion>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {POLICY} FROM policy_versions WHERE kind = $1 ORDER BY version DESC"
        ))
        .bind(kind)
        .fetch_all(self.pool())
        .await
    }

    /// The newest version whose effective date has come.
    pub async fn policy_in_force(
        &self,
        kind: &str,
        now: i64,
    ) -> Result<Option<PolicyVersion>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {POLICY} FROM policy_versions WHERE kind = $1 AND effective_at <= $2 \
             ORDER BY version DESC LIMIT 1"
        ))
        .bind(kind)
        .bind(now)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn policy_version(
        &self,
        kind: &str,
        version: i64,
    ) -> Result<Option<PolicyVersion>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {POLICY} FROM policy_versions WHERE kind = $1 AND version = $2"
        ))
        .bind(kind)
        .bind(version)
        .fetch_optional(self.pool())
        .await
    }

    /// Records an acknowledgement once; a repeat keeps the first time.
    pub async fn acknowledge_policy(
        &self,
        account_id: &AccountId,
        kind: &str,
        version: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO policy_acknowledgements (account_id, kind, version, acknowledged_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, kind, version) DO NOTHING",
        )
        .bind(account_id)
        .bind(kind)
        .bind(version)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn acknowledgements_of(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<Acknowledgement>, sqlx::Error> {
        sqlx::query_as(
            "SELECT kind, version, acknowledged_at FROM policy_acknowledgements \
             WHERE account_id = $1 ORDER BY acknowledged_at, kind",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn has_acknowledged(
        &self,
        account_id: &AccountId,
        kind: &str,
        version: i64,
    ) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM policy_acknowledgements WHERE account_id = $1 AND kind = $2 AND version = $3",
        )
        .bind(account_id)
        .bind(kind)
        .bind(version)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }
}
