//! Consistent snapshots of the main database, taken while the server runs.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context;

use super::files::Scratch;
use crate::store::Store;

/// SQLite: `VACUUM INTO` a scratch file. It reads inside one transaction, so
/// the copy is consistent even with the server writing, and it holds only
/// the main database: the key store is another file (`keys.db`).
pub async fn sqlite(store: &Store, scratch_dir: &Path) -> anyhow::Result<Scratch> {
    let snapshot = Scratch::beside(scratch_dir, "regroup.db.snapshot");
    let path = snapshot
        .path()
        .to_str()
        .context("the data directory's path is not valid UTF-8")?
        .to_owned();
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(store.pool())
        .await
        .context("while taking a snapshot of the database (VACUUM INTO)")?;
    // SQLite creates it with the umask's mode; it holds what the database
    // holds, so only the owner may read it while it waits to be encrypted.
    std::fs::set_permissions(snapshot.path(), std::fs::Permissions::from_mode(0o600))
        .context("while restricting the snapshot to its owner")?;
    Ok(snapshot)
}

/// PostgreSQL: runs `pg_dump` (custom format, without the `keystore`
/// schema) and hands its output to `consume` as it is produced. Blocking.
pub fn pg_dump<T>(
    url: &str,
    consume: impl FnOnce(&mut dyn Read) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut child = Command::new("pg_dump")
        .args([
            "--format=custom",
            "--exclude-schema=keystore",
            "--no-password",
        ])
        .arg(format!("--dbname={url}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing_program("pg_dump", e))?;
    let stderr = drain_stderr(&mut child);
    // The child always has a piped stdout: it was asked for just above.
    let mut stdout = child.stdout.take().context("pg_dump gave no output")?;
    let consumed = consume(&mut stdout);
    drop(stdout);
    let status = child.wait().context("while waiting for pg_dump")?;
    let said = stderr.join().unwrap_or_default();
    if !status.success() {
        anyhow::bail!("pg_dump failed ({status}): {}", said.trim());
    }
    consumed
}

/// PostgreSQL: `pg_restore` of a decrypted archive into `url`, all or nothing.
pub fn pg_restore(url: &str, archive: &Path, replace: bool) -> anyhow::Result<()> {
    let mut command = Command::new("pg_restore");
    command
        .args([
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
        ])
        .arg(format!("--dbname={url}"));
    if replace {
        command.args(["--clean", "--if-exists"]);
    }
    let output = command
        .arg(archive)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| missing_program("pg_restore", e))?;
    if !output.status.success() {
        anyhow::bail!(
            "pg_restore failed ({}); nothing was restored: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn missing_program(name: &str, err: std::io::Error) -> anyhow::Error {
    match err.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "{name} was not found on PATH: install the PostgreSQL client programs \
             (the same major version as the server or newer)"
        ),
        _ => anyhow::Error::new(err).context(format!("while starting {name}")),
    }
}

/// Reads the child's standard error on a thread, so a chatty child can never
/// block on a full pipe while we read its standard output.
fn drain_stderr(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    })
}
