//! Per-therapist data keys, wrapped by the master key and kept in a key store
//! apart from the main database: SQLite keeps them in `keys.db` beside
//! `regroup.db`; PostgreSQL keeps them in the `keystore` schema, which
//! database backups leave out (`pg_dump --exclude-schema=keystore`).
//! Destroying a therapist's key makes every copy of their clients' data
//! unreadable, backups included.

mod cache;
mod store;

pub use store::KeyStore;

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use base64::Engine;
use regroup_vault::{DataKey, MasterKey};
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct Keyring {
    master: Arc<MasterKey>,
    store: KeyStore,
    /// Unwrapped keys, for a short while (see `cache`).
    cache: Arc<cache::KeyCache>,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The master key from `REGROUP_MASTER_KEY` (base64) or the key file in the data dir.
pub fn load_master_key(config: &Config) -> anyhow::Result<MasterKey> {
    match &config.master_key {
        Some(encoded) => MasterKey::from_base64(encoded.expose_secret())
            .context("while reading REGROUP_MASTER_KEY"),
        None => MasterKey::load_or_create(config.data_dir.join("master.key"))
            .context("while loading the master key file"),
    }
}

/// The master key, checked against the key store: a server or tool that
/// started with another key than the one that wrapped the stored data keys
/// would open no client's data and wrap new keys under a key nobody keeps.
/// A missing key file is created only for a key store with no data keys yet.
pub async fn open_master_key(config: &Config, store: &KeyStore) -> anyhow::Result<MasterKey> {
    let stored = store
        .master_fingerprints()
        .await
        .context("while reading the key store's master key fingerprints")?;
    let key_file = config.data_dir.join("master.key");
    if config.master_key.is_none() && !key_file.exists() && !stored.is_empty() {
        anyhow::bail!(
            "{} is missing, but the key store holds data keys wrapped by the master key with \
             fingerprint {}: put that master.key back (from your copy of it), or set \
             REGROUP_MASTER_KEY to it. A new key would open none of them, so none was made.",
            key_file.display(),
            stored.join(", ")
        );
    }
    let master = load_master_key(config)?;
    let fingerprint = master.fingerprint();
    if let Some(other) = stored.iter().find(|f| **f != fingerprint) {
        let source = match config.master_key {
            Some(_) => "REGROUP_MASTER_KEY".to_owned(),
            None => key_file.display().to_string(),
        };
        anyhow::bail!(
            "the master key in {source} (fingerprint {fingerprint}) is not the one that wrapped \
             the data keys in the key store (fingerprint {other}): put back the master key that \
             goes with this data (master.key, or REGROUP_MASTER_KEY; after an interrupted \
             rotation, master.key.old or master.key.new in the data directory may be it), \
             or point --data-dir / --database-url at the data this key belongs to"
        );
    }
    Ok(master)
}

impl Keyring {
    pub fn new(master: MasterKey, store: KeyStore) -> Self {
        Self {
            master: Arc::new(master),
            store,
            cache: Arc::default(),
        }
    }

    /// The owner's data key, created on first use.
    pub async fn data_key(&self, owner_id: &str) -> AppResult<Arc<DataKey>> {
        if let Some(key) = self.existing_key(owner_id).await? {
            return Ok(key);
        }
        let fresh = DataKey::generate();
        let wrapped = B64.encode(self.master.wrap(owner_id, &fresh));
        // Two first uses at once: the first insert wins and both read it back.
        self.store
            .insert_if_absent(owner_id, &wrapped, &self.master.fingerprint())
            .await?;
        self.existing_key(owner_id).await?.ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "a data key vanished right after it was stored"
            ))
        })
    }

    /// The owner's data key if one exists. A key that does not unwrap (wrong
    /// master key, damaged row) is an error for this owner only.
    pub async fn existing_key(&self, owner_id: &str) -> AppResult<Option<Arc<DataKey>>> {
        let seen = match self.cache.get(owner_id, Instant::now()) {
            Ok(key) => return Ok(Some(key)),
            Err(seen) => seen,
        };
        let Some(key) = self.unwrap_stored(owner_id).await? else {
            return Ok(None);
        };
        let key = Arc::new(key);
        self.cache
            .put(owner_id, Arc::clone(&key), seen, Instant::now());
        Ok(Some(key))
    }

    /// The owner's key as the key store holds it, unwrapped.
    async fn unwrap_stored(&self, owner_id: &str) -> AppResult<Option<DataKey>> {
        let Some(wrapped) = self.store.wrapped(owner_id).await? else {
            return Ok(None);
        };
        let bytes = B64
            .decode(wrapped)
            .context("while decoding a wrapped data key")?;
        let key = self.master.unwrap(owner_id, &bytes).map_err(|e| {
            AppError::internal(anyhow::anyhow!(
                "while unwrapping the data key of {owner_id}: {e}"
            ))
        })?;
        Ok(Some(key))
    }

    /// Destroys the owner's key: from now on nothing sealed with it opens.
    pub async fn shred(&self, owner_id: &str) -> AppResult<()> {
        let deleted = self.store.delete(owner_id).await;
        // Evicted after the delete, so no lookup that read the key store
        // before it can cache the key again (see `cache`); and evicted even
        // when the delete failed, since it may have happened all the same.
        self.cache.evict(owner_id);
        deleted?;
        Ok(())
    }

    pub fn store(&self) -> &KeyStore {
        &self.store
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }
}

/// Re-wraps every data key under `new`; client rows are not touched.
/// Returns how many keys were re-wrapped.
pub async fn rotate_master(
    store: &KeyStore,
    old: &MasterKey,
    new: &MasterKey,
) -> anyhow::Result<usize> {
    let rows = store.all().await?;
    let mut rewrapped = Vec::with_capacity(rows.len());
    for (owner, wrapped) in &rows {
        let bytes = B64
            .decode(wrapped)
            .context("while decoding a wrapped data key")?;
        let fresh = regroup_vault::rewrap(old, new, owner, &bytes).map_err(|e| {
            anyhow::anyhow!(
                "the data key of {owner} does not open with the current master key: {e}"
            )
        })?;
        rewrapped.push((owner.clone(), B64.encode(fresh)));
    }
    store.replace_all(&rewrapped, &new.fingerprint()).await?;
    Ok(rewrapped.len())
}
