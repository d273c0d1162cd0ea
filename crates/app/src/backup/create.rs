//! `regroup backup`: snapshot, encrypt, publish, rotate.

use std::fs::{DirBuilder, File};
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use regroup_vault::backup_stream::{self, BackupHeader, BackupSource};
use regroup_vault::BackupKey;
use secrecy::ExposeSecret;

use super::files::{self, Scratch};
use super::{snapshot, BackupPlan};
use crate::store::{Backend, Store};

/// A staging file this old belongs to no run still in progress.
const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// One finished backup.
#[derive(Debug)]
pub struct Made {
    pub path: PathBuf,
    /// Size of the snapshot before encryption.
    pub bytes: u64,
    /// Older backups deleted by rotation.
    pub removed: Vec<PathBuf>,
}

/// Writes one encrypted backup of the main database into `plan.dir`, then
/// deletes all but the newest `plan.keep`. The file appears under its final
/// name only once complete, so a crash never leaves a half backup that looks
/// whole.
pub async fn create(store: &Store, plan: &BackupPlan) -> anyhow::Result<Made> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&plan.dir)
        .with_context(|| format!("while creating the backup directory {}", plan.dir.display()))?;
    for dir in [&plan.dir, &plan.scratch_dir] {
        for left in files::sweep_leftovers(dir, LEFTOVER_AGE) {
            tracing::info!(file = %left.display(), "removed a leftover of an interrupted backup");
        }
    }
    let now = Utc::now();
    let path = plan.dir.join(files::backup_name(now));
    let staging = Scratch::beside(&plan.dir, "regroup-backup");
    let key = plan.key.clone();
    let (staging, bytes) = match store.backend() {
        Backend::Sqlite => {
            let snapshot = snapshot::sqlite(store, &plan.scratch_dir).await?;
            let header = header(BackupSource::Sqlite, now.timestamp());
            blocking(move || {
                let input = File::open(snapshot.path()).context("while reading the snapshot")?;
                let bytes = seal_into(&key, header, input, &staging)?;
                Ok((staging, bytes))
            })
            .await?
        }
        Backend::Postgres => {
            let url = plan
                .postgres_url
                .as_ref()
                .map(|url| url.expose_secret().to_owned())
                .context("a PostgreSQL backup needs the database URL")?;
            let header = header(BackupSource::Postgres, now.timestamp());
            blocking(move || {
                let bytes =
                    snapshot::pg_dump(&url, |dump| seal_into(&key, header, dump, &staging))?;
                Ok((staging, bytes))
            })
            .await?
        }
    };
    staging.publish(&path)?;
    let removed = files::rotate(&plan.dir, plan.keep)?;
    Ok(Made {
        path,
        bytes,
        removed,
    })
}

fn header(source: BackupSource, created_at: i64) -> BackupHeader {
    BackupHeader { source, created_at }
}

/// Encrypts `input` into the (new, 0600) staging file and makes it durable.
fn seal_into(
    key: &BackupKey,
    header: BackupHeader,
    input: impl Read,
    staging: &Scratch,
) -> anyhow::Result<u64> {
    let mut out = BufWriter::new(staging.create_private()?);
    let bytes = backup_stream::encrypt(key, header, input, &mut out)
        .context("while encrypting the backup")?;
    out.flush().context("while writing the backup")?;
    let file = out.into_inner().context("while writing the backup")?;
    file.sync_all().context("while syncing the backup")?;
    Ok(bytes)
}

/// Encryption and `pg_dump` block; keep them off the server's async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("the backup task stopped unexpectedly")?
}
