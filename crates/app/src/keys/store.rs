use std::str::FromStr;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::store::{detached, outside_transaction, Backend};

/// Where wrapped data keys live: never inside the main database's backups.
#[derive(Clone, Debug)]
pub struct KeyStore {
    pool: AnyPool,
    table: &'static str,
    /// The audit chain's head, kept here because this store lives apart
    /// from the main database (see `crate::audit::anchor`).
    anchor_table: &'static str,
    /// One row `/readyz` overwrites to prove the key store takes writes.
    probe_table: &'static str,
    /// Transactions on their own tasks (see `crate::store::detached`).
    slots: std::sync::Arc<tokio::sync::Semaphore>,
}

impl KeyStore {
    /// Opens (and creates) the key store that goes with the main database.
    pub async fn open(
        backend: Backend,
        data_dir: &std::path::Path,
        database_url: &str,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (url, table, anchor_table, probe_table) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", data_dir.join("keys.db").display()),
                "data_keys",
                "audit_anchor",
                "readiness_probe",
            ),
            Backend::Postgres => (
                database_url.to_string(),
                "keystore.data_keys",
                "keystore.audit_anchor",
                "keystore.readiness_probe",
            ),
        };
        let options =
            AnyConnectOptions::from_str(&url).context("while reading the key store URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .before_acquire(|conn, _meta| Box::pin(async move { Ok(outside_transaction(conn)) }))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        crate::store::sqlite_waits_and_wal(conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("while opening the key store")?;
        if backend == Backend::Postgres {
            pool.execute("CREATE SCHEMA IF NOT EXISTS keystore").await?;
        }
        pool.execute(
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (owner_id TEXT PRIMARY KEY, wrapped TEXT NOT NULL, \
                 master_fingerprint TEXT NOT NULL, created_at BIGINT NOT NULL)"
            )
            .as_str(),
        )
        .await
        .context("while creating the key store table")?;
        pool.execute(
            format!(
                "CREATE TABLE IF NOT EXISTS {anchor_table} (id INTEGER PRIMARY KEY CHECK (id = 1), \
                 seq BIGINT NOT NULL, hash TEXT NOT NULL, anchored_at BIGINT NOT NULL)"
            )
            .as_str(),
        )
        .await
        .context("while creating the audit anchor table")?;
        pool.execute(
            format!(
                "CREATE TABLE IF NOT EXISTS {probe_table} (id INTEGER PRIMARY KEY CHECK (id = 1), \
                 checked_at BIGINT NOT NULL)"
            )
            .as_str(),
        )
        .await
        .context("while creating the key store's probe table")?;
        Ok(Self {
            pool,
            table,
            anchor_table,
            probe_table,
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(4)),
        })
    }

    pub async fn wrapped(&self, owner_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(&format!(
            "SELECT wrapped FROM {} WHERE owner_id = $1",
            self.table
        ))
        .bind(owner_id)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn insert_if_absent(
        &self,
        owner_id: &str,
        wrapped: &str,
        fingerprint: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO {} (owner_id, wrapped, master_fingerprint, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (owner_id) DO NOTHING",
            self.table
        ))
        .bind(owner_id)
        .bind(wrapped)
        .bind(fingerprint)
        .bind(chrono::Utc::now().timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete(&self, owner_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query(&format!("DELETE FROM {} WHERE owner_id = $1", self.table))
            .bind(owner_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The fingerprints of the master keys that wrapped the stored data keys
    /// (one, except in a key store that was damaged or mixed by hand).
    pub async fn master_fingerprints(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(&format!(
            "SELECT DISTINCT master_fingerprint FROM {} ORDER BY master_fingerprint",
            self.table
        ))
        .fetch_all(&self.pool)
        .await
    }

    /// Every (owner, wrapped key) pair, for master key rotation.
    pub async fn all(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT owner_id, wrapped FROM {} ORDER BY owner_id",
            self.table
        ))
        .fetch_all(&self.pool)
        .await
    }

    /// Replaces the wrapped keys in one transaction: all or nothing.
    pub async fn replace_all(
        &self,
        rows: &[(String, String)],
        fingerprint: &str,
    ) -> Result<(), sqlx::Error> {
        let (pool, table, rows, fingerprint) = (
            self.pool.clone(),
            self.table,
            rows.to_vec(),
            fingerprint.to_owned(),
        );
        detached(&self.slots, async move {
            let mut tx = pool.begin().await?;
            for (owner, wrapped) in &rows {
                sqlx::query(&format!(
                    "UPDATE {} SET wrapped = $2, master_fingerprint = $3 WHERE owner_id = $1",
                    table
                ))
                .bind(owner)
                .bind(wrapped)
                .bind(&fingerprint)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
        .await
    }

    /// Moves the audit anchor forward to `seq`; never back (appends that
    /// finish out of order leave the newest anchor in place).
    pub async fn set_audit_anchor(&self, seq: i64, hash: &str, at: i64) -> Result<(), sqlx::Error> {
        let table = self.anchor_table;
        sqlx::query(&format!(
            "INSERT INTO {table} AS a (id, seq, hash, anchored_at) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
             anchored_at = excluded.anchored_at WHERE a.seq < excluded.seq"
        ))
        .bind(seq)
        .bind(hash)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Points the anchor at `head` even if that is an older entry (after a
    /// restore), or removes it for an empty log.
    pub async fn reset_audit_anchor(
        &self,
        head: Option<(i64, &str)>,
        at: i64,
    ) -> Result<(), sqlx::Error> {
        let (pool, table, head) = (
            self.pool.clone(),
            self.anchor_table,
            head.map(|(seq, hash)| (seq, hash.to_owned())),
        );
        detached(&self.slots, async move {
            let mut tx = pool.begin().await?;
            sqlx::query(&format!("DELETE FROM {}", table))
                .execute(&mut *tx)
                .await?;
            if let Some((seq, hash)) = head {
                sqlx::query(&format!(
                    "INSERT INTO {} (id, seq, hash, anchored_at) VALUES (1, $1, $2, $3)",
                    table
                ))
                .bind(seq)
                .bind(&hash)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
        .await
    }

    /// The anchored (seq, hash), if any entry was anchored yet.
    pub async fn audit_anchor(&self) -> Result<Option<(i64, String)>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT seq, hash FROM {} WHERE id = 1",
            self.anchor_table
        ))
        .fetch_optional(&self.pool)
        .await
    }

    /// Overwrites the one probe row: proves the key store takes writes now.
    pub async fn probe_write(&self, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO {} (id, checked_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
            self.probe_table
        ))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
