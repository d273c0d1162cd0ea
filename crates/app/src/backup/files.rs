//! Backup file names, staging files and rotation.
//!
//! Names are `regroup-YYYYMMDDTHHMMSS.mmmZ.backup` (UTC), so they sort in
//! time order and rotation can tell its own files from anything else in the
//! directory.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};
use rand::RngCore;

const PREFIX: &str = "regroup-";
const SUFFIX: &str = ".backup";
const STAMP: &str = "%Y%m%dT%H%M%S%.3fZ";

pub fn backup_name(at: DateTime<Utc>) -> String {
    format!("{PREFIX}{}{SUFFIX}", at.format(STAMP))
}

/// The time in a backup's name; `None` for any other file.
fn backup_time(name: &str) -> Option<NaiveDateTime> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    NaiveDateTime::parse_from_str(stamp, STAMP).ok()
}

/// A file that is removed when dropped unless kept: snapshots and staging
/// files never outlive a failed (or finished) run.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A fresh, not yet existing name in `dir`, hidden and random.
    pub fn beside(dir: &Path, what: &str) -> Self {
        let mut suffix = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut suffix);
        Self {
            path: dir.join(format!(".{what}.{}.tmp", hex::encode(suffix))),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the file, readable by the owner only.
    pub fn create_private(&self) -> anyhow::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.path)
            .with_context(|| format!("while creating {}", self.path.display()))
    }

    /// Gives the finished file its final name without ever replacing an
    /// existing file: a hard link fails if `to` exists, where a rename would
    /// silently overwrite it.
    pub fn publish(self, to: &Path) -> anyhow::Result<()> {
        fs::hard_link(&self.path, to).with_context(|| format!("while naming {}", to.display()))?;
        if let Some(dir) = to.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("while syncing {}", dir.display()))?;
        }
        Ok(())
    }

    /// Moves the file over `to`, replacing it (a restore with `--force`).
    pub fn replace(self, to: &Path) -> anyhow::Result<()> {
        fs::rename(&self.path, to).with_context(|| format!("while moving into {}", to.display()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Absent after `replace`; a leftover is only untidy, never a half
        // backup under a real name.
        let _ = fs::remove_file(&self.path);
    }
}

/// Staging files and plaintext snapshots are removed when a run ends, but a
/// killed process or a power cut leaves them behind; a snapshot is a
/// readable copy of the database. Each run first deletes such leftovers
/// older than `older_than` (old enough not to be another run in progress).
pub fn sweep_leftovers(dir: &Path, older_than: std::time::Duration) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // Every scratch name of ours: `.regroup-backup.…`, `.regroup.db.snapshot.…`.
        if !(name.starts_with(".regroup") && name.ends_with(".tmp")) {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= older_than);
        if stale && fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

/// Deletes all but the newest `keep` backups in `dir`; returns the removed paths.
pub fn rotate(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let mut backups = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("while listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("while listing {}", dir.display()))?;
        let name = entry.file_name();
        if let Some(at) = name.to_str().and_then(backup_time) {
            backups.push((at, entry.path()));
        }
    }
    backups.sort_by_key(|b| std::cmp::Reverse(b.0));
    let mut removed = Vec::new();
    for (_, path) in backups.into_iter().skip(keep) {
        match fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            // Another node rotating the same shared directory got there first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("while deleting {}", path.display())),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_name_reads_back_as_its_time_and_other_names_do_not() {
        let at = DateTime::from_timestamp_millis(1_780_000_000_123).unwrap();
        let name = backup_name(at);
        assert_eq!(name, "regroup-20260528T202640.123Z.backup");
        assert_eq!(backup_time(&name), Some(at.naive_utc()));
        for other in [
            "regroup.db",
            ".regroup-x.backup.1.tmp",
            "regroup-2026.backup",
        ] {
            assert_eq!(backup_time(other), None, "{other}");
        }
    }

    #[test]
    fn old_leftovers_are_swept_and_fresh_or_foreign_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(".regroup.db.snapshot.00ff.tmp");
        let fresh = dir.path().join(".regroup-backup.11ee.tmp");
        let foreign = dir.path().join(".other.tmp");
        for path in [&old, &fresh, &foreign] {
            fs::write(path, b"x").unwrap();
        }
        let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(172_800);
        for path in [&old, &foreign] {
            File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(two_days_ago)
                .unwrap();
        }
        let removed = sweep_leftovers(dir.path(), std::time::Duration::from_secs(86_400));
        assert_eq!(removed, std::slice::from_ref(&old));
        assert!(!old.exists() && fresh.exists() && foreign.exists());
    }

    #[test]
    fn rotation_keeps_the_newest_and_leaves_other_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        for ms in [3000, 1000, 2000, 4000] {
            let at = DateTime::from_timestamp_millis(1_780_000_000_000 + ms).unwrap();
            fs::write(dir.path().join(backup_name(at)), b"x").unwrap();
        }
        fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let removed = rotate(dir.path(), 2).unwrap();
        assert_eq!(removed.len(), 2);
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "notes.txt",
                "regroup-20260528T202643.000Z.backup",
                "regroup-20260528T202644.000Z.backup"
            ]
        );
    }
}
