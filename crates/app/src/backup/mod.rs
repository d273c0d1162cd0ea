//! Encrypted backups of the main database: `regroup backup`, `regroup
//! restore` and the schedule in `serve`.
//!
//! A backup is a consistent snapshot (SQLite `VACUUM INTO`, PostgreSQL
//! `pg_dump --exclude-schema=keystore`) sealed with the backup key by
//! `regroup_vault::backup_stream`. The key store is never in it: a therapist
//! deleted after a backup was made stays unreadable when it is restored,
//! because their data key is gone (crypto-shredding).

mod create;
mod files;
mod restore;
pub mod schedule;
mod snapshot;

pub use create::{create, Made};
pub use restore::{restore, Restored};

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use regroup_vault::BackupKey;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::{self, Action, Actor, AuditEvent};
use crate::config::Config;
use crate::keys::KeyStore;
use crate::store::{Backend, Store};

/// Everything a backup run needs, resolved once.
#[derive(Clone, Debug)]
pub struct BackupPlan {
    pub dir: PathBuf,
    pub keep: usize,
    pub key: Arc<BackupKey>,
    /// Where the plaintext snapshot waits while it is encrypted: the data
    /// directory, which already holds the live database.
    pub scratch_dir: PathBuf,
    /// `Some` for PostgreSQL (handed to `pg_dump`).
    pub postgres_url: Option<SecretString>,
}

impl BackupPlan {
    /// Resolves the plan, creating `DATA_DIR/backup.key` on first use.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let key = match &config.backup.key {
            Some(encoded) => BackupKey::from_base64(encoded.expose_secret())
                .context("while reading REGROUP_BACKUP_KEY")?,
            None => BackupKey::load_or_create(config.data_dir.join("backup.key"))
                .context("while loading the backup key file")?,
        };
        Ok(Self {
            dir: config.backup_dir(),
            keep: config.backup.keep.max(1),
            key: Arc::new(key),
            scratch_dir: config.data_dir.clone(),
            postgres_url: config.database_url.clone(),
        })
    }
}

/// The key store next to `store`, if one is there. SQLite's is a file that
/// an operator may not have copied in yet; opening it would create an empty
/// one, so it is only opened when present.
async fn key_store_if_present(config: &Config, store: &Store) -> anyhow::Result<Option<KeyStore>> {
    if store.backend() == Backend::Sqlite && !config.data_dir.join("keys.db").exists() {
        return Ok(None);
    }
    Ok(Some(
        KeyStore::open(store.backend(), &config.data_dir, &config.database_url()).await?,
    ))
}

/// Writes a backup or restore into the audit log (the system did it; no
/// person is named), and moves the anchor along when the key store is there.
pub async fn audit_by_tool(config: &Config, store: &Store, action: Action) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp();
    let event = AuditEvent::new(Actor::system(), action);
    match key_store_if_present(config, store).await? {
        Some(keys) => {
            let recorded = audit::record_anchored(store, &keys, event, now).await;
            keys.close().await;
            recorded
        }
        None => audit::record(store, event, now).await.map(|_| ()),
    }
}

/// The backup key for a restore: an existing one only, since a new key
/// could open nothing.
fn existing_key(config: &Config) -> anyhow::Result<BackupKey> {
    match &config.backup.key {
        Some(encoded) => BackupKey::from_base64(encoded.expose_secret())
            .context("while reading REGROUP_BACKUP_KEY"),
        None => {
            let path = config.data_dir.join("backup.key");
            BackupKey::load(&path).with_context(|| {
                format!(
                    "while loading the backup key {} (copy the backup.key that made the backup there, or set REGROUP_BACKUP_KEY)",
                    path.display()
                )
            })
        }
    }
}
