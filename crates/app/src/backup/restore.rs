//! `regroup restore FILE`: decrypt and verify the whole backup first, then
//! put it in place. Only the main database comes back; data keys come from
//! the key store already there, so therapists deleted since the backup stay
//! unreadable.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use regroup_vault::backup_stream::{self, BackupHeader, BackupSource};

use super::files::Scratch;
use super::{existing_key, snapshot};
use crate::audit::Action;
use crate::config::Config;
use crate::store::Store;

/// What a restore put back.
#[derive(Debug)]
pub struct Restored {
    pub header: BackupHeader,
    /// The SQLite file or `PostgreSQL database`.
    pub target: String,
    pub accounts: i64,
    pub clients: i64,
    /// The audit entry the anchor now points at (the restored log's newest);
    /// `None` when no key store was there to hold it.
    pub anchored: Option<i64>,
}

/// Restores `file` into the configured database. Refuses to replace an
/// existing SQLite file or a non-empty PostgreSQL database unless `force`.
pub async fn restore(config: &Config, file: &Path, force: bool) -> anyhow::Result<Restored> {
    config.ensure_data_dir()?;
    let key = existing_key(config)?;
    let wanted = match config.given_database_url() {
        None => {
            let target = config.data_dir.join("regroup.db");
            if target.exists() && !force {
                anyhow::bail!(
                    "{} already exists; stop the server and pass --force to replace it",
                    target.display()
                );
            }
            BackupSource::Sqlite
        }
        Some(url) => {
            if !force && !postgres_is_empty(url).await? {
                anyhow::bail!(
                    "the database already holds tables; stop the servers and pass --force to replace them"
                );
            }
            BackupSource::Postgres
        }
    };

    // Decrypt everything before touching the database: a damaged backup must
    // leave the current data as it was.
    let plain = Scratch::beside(&config.data_dir, "regroup-restore");
    let source = file.to_path_buf();
    let (plain, header) = tokio::task::spawn_blocking(move || {
        let header = decrypt_into(&key, &source, &plain)?;
        anyhow::Ok((plain, header))
    })
    .await
    .context("the restore task stopped unexpectedly")??;
    if header.source != wanted {
        anyhow::bail!(
            "this is a {} backup; restore it with {}",
            header.source.as_str(),
            match header.source {
                BackupSource::Sqlite => "a data directory and no --database-url",
                BackupSource::Postgres => "--database-url postgres://…",
            }
        );
    }

    let (url, target) = match config.given_database_url() {
        None => {
            let target = config.data_dir.join("regroup.db");
            put_sqlite_in_place(plain, &target)?;
            (config.database_url(), target.display().to_string())
        }
        Some(url) => {
            let (url, archive) = (url.to_owned(), plain);
            tokio::task::spawn_blocking(move || snapshot::pg_restore(&url, archive.path(), force))
                .await
                .context("the restore task stopped unexpectedly")??;
            (config.database_url(), "the PostgreSQL database".to_owned())
        }
    };
    let (accounts, clients) = count(&url).await?;
    let store = Store::connect(&url).await?;
    let traced = super::audit_by_tool(config, &store, Action::BackupRestored).await;
    store.close().await;
    traced?;
    let anchored = reanchor(config, &url).await?;
    Ok(Restored {
        header,
        target,
        accounts,
        clients,
        anchored,
    })
}

fn decrypt_into(
    key: &regroup_vault::BackupKey,
    source: &Path,
    plain: &Scratch,
) -> anyhow::Result<BackupHeader> {
    let input = File::open(source)
        .with_context(|| format!("while opening the backup {}", source.display()))?;
    let mut out = BufWriter::new(plain.create_private()?);
    let header = backup_stream::decrypt(key, BufReader::new(input), &mut out)
        .map_err(|e| anyhow::anyhow!("{} was refused: {e}", source.display()))?;
    out.flush().context("while writing the restored database")?;
    out.into_inner()
        .context("while writing the restored database")?
        .sync_all()
        .context("while syncing the restored database")?;
    Ok(header)
}

fn put_sqlite_in_place(plain: Scratch, target: &Path) -> anyhow::Result<()> {
    let mut magic = [0u8; 16];
    File::open(plain.path())
        .and_then(|mut f| f.read_exact(&mut magic))
        .context("while checking the restored database")?;
    if &magic != b"SQLite format 3\0" {
        anyhow::bail!("the backup does not hold a SQLite database");
    }
    // The old database's write-ahead log would be replayed onto the restored
    // file and corrupt it: remove it (and its index) first.
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", target.display()));
        match fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("while removing {}", side.display())),
        }
    }
    plain.replace(target)
}

/// A restore deliberately rewinds the audit log to the backup's end, which
/// the anchor would report as cut off: point the anchor at the restored
/// log's newest entry. Without a key store in place (SQLite: no keys.db yet)
/// there is no anchor to move, and none is created here.
async fn reanchor(config: &Config, url: &str) -> anyhow::Result<Option<i64>> {
    let store = Store::connect(url).await?;
    let Some(keys) = super::key_store_if_present(config, &store).await? else {
        store.close().await;
        return Ok(None);
    };
    let head = store
        .audit_head()
        .await
        .context("while reading the restored audit log")?;
    let now = chrono::Utc::now().timestamp();
    keys.reset_audit_anchor(head.as_ref().map(|(seq, hash)| (*seq, hash.as_str())), now)
        .await
        .context("while moving the audit anchor")?;
    keys.close().await;
    store.close().await;
    Ok(head.map(|(seq, _)| seq))
}

/// True when no schema but the key store holds a table.
async fn postgres_is_empty(url: &str) -> anyhow::Result<bool> {
    let store = Store::connect(url).await?;
    let tables: Result<(i64,), _> = sqlx::query_as(
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'keystore')",
    )
    .fetch_one(store.pool())
    .await;
    store.close().await;
    Ok(tables
        .context("while checking whether the database is empty")?
        .0
        == 0)
}

/// Brings the restored database up to this version's schema and counts
/// what came back.
async fn count(url: &str) -> anyhow::Result<(i64, i64)> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let accounts: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
        .fetch_one(store.pool())
        .await
        .context("while counting restored accounts")?;
    let clients: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM clients")
        .fetch_one(store.pool())
        .await
        .context("while counting restored clients")?;
    store.close().await;
    Ok((accounts.0, clients.0))
}
