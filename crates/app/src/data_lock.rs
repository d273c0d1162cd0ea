//! Who works on this data right now. Servers share it; `keys rotate-master`
//! holds it alone, so it cannot re-wrap the data keys under a server that
//! still holds the old master key (and would then write keys nobody opens).
//!
//! SQLite: `flock` on `DATA_DIR/regroup.lock` (released by the kernel when
//! the process ends, even by `kill -9`). PostgreSQL: a session advisory lock,
//! which also covers servers on other machines sharing the database.

use std::fs::{File, OpenOptions};

use anyhow::Context;
use rustix::fs::{flock, FlockOperation};
use sqlx::{AnyConnection, Connection};

use crate::config::Config;

/// The advisory lock's key: "Regroup" in ASCII, then 1.
const ADVISORY_KEY: i64 = 0x5265_6772_6f75_7001;

/// Held while it lives; dropping it releases the lock.
#[derive(Debug)]
pub enum DataLock {
    File(File),
    Postgres(Box<AnyConnection>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Shared,
    Exclusive,
}

/// Taken by every server for as long as it runs.
pub async fn for_serving(config: &Config) -> anyhow::Result<DataLock> {
    take(config, Mode::Shared).await.map_err(|busy| {
        busy.context(
            "a master key rotation is running on this data; start the server when it is done",
        )
    })
}

/// Taken by a master key rotation; refused while any server runs.
pub async fn for_rotation(config: &Config) -> anyhow::Result<DataLock> {
    take(config, Mode::Exclusive).await.map_err(|busy| {
        busy.context(
            "a Regroup server is running on this data: stop every server (on every node) first, \
             then rotate the master key",
        )
    })
}

async fn take(config: &Config, mode: Mode) -> anyhow::Result<DataLock> {
    match config.given_database_url() {
        Some(url) if url.starts_with("postgres") => {
            sqlx::any::install_default_drivers();
            let mut conn = AnyConnection::connect(url)
                .await
                .context("while connecting to take the data lock")?;
            let call = match mode {
                Mode::Shared => "SELECT pg_try_advisory_lock_shared($1)",
                Mode::Exclusive => "SELECT pg_try_advisory_lock($1)",
            };
            let taken: bool = sqlx::query_scalar(call)
                .bind(ADVISORY_KEY)
                .fetch_one(&mut conn)
                .await
                .context("while taking the data lock")?;
            anyhow::ensure!(taken, "the database's data lock is held");
            Ok(DataLock::Postgres(Box::new(conn)))
        }
        _ => {
            let path = config.data_dir.join("regroup.lock");
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .with_context(|| format!("while opening {}", path.display()))?;
            let operation = match mode {
                Mode::Shared => FlockOperation::NonBlockingLockShared,
                Mode::Exclusive => FlockOperation::NonBlockingLockExclusive,
            };
            flock(&file, operation).with_context(|| format!("{} is locked", path.display()))?;
            Ok(DataLock::File(file))
        }
    }
}
