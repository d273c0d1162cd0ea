//! The data directory holds password hashes, tickets, inquiries, sealed
//! client rows and (in the outbox) client names and emails: it and
//! everything in it are for the server's user alone, 0700 and 0600.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;

/// Creates `dir` if needed and makes it and its contents private. Also sets
/// the process umask, so every file made later (SQLite's `-wal` and `-shm`,
/// `keys.db`, outbox mail, backups, the lock file) is private from the start.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("while creating the data directory {}", dir.display()))?;
    make_private(dir, 0)
}

/// Deep enough for `outbox/` and `backups/`; deeper is not ours.
const MAX_DEPTH: usize = 3;

/// Takes group and other permissions away from `path` and what it holds
/// (files made before the umask was set, or copied in by hand).
fn make_private(path: &Path, depth: usize) -> anyhow::Result<()> {
    // Not followed: a link may point outside the data directory.
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("while reading {}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        let private = if meta.is_dir() { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(private))
            .with_context(|| format!("while making {} private", path.display()))?;
    }
    if meta.is_dir() && depth < MAX_DEPTH {
        let entries =
            std::fs::read_dir(path).with_context(|| format!("while listing {}", path.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("while listing {}", path.display()))?;
            make_private(&entry.path(), depth + 1)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_old_open_data_directory_becomes_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir_all(dir.join("outbox")).unwrap();
        std::fs::write(dir.join("regroup.db"), "").unwrap();
        std::fs::write(dir.join("outbox/1.eml"), "").unwrap();
        for path in [&dir, &dir.join("outbox")] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for path in [dir.join("regroup.db"), dir.join("outbox/1.eml")] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("outbox")), 0o700);
        assert_eq!(mode(&dir.join("regroup.db")), 0o600);
        assert_eq!(mode(&dir.join("outbox/1.eml")), 0o600);
        // And what is made afterwards is private from the start.
        std::fs::write(dir.join("new.db"), "").unwrap();
        assert_eq!(mode(&dir.join("new.db")), 0o600);
    }
}
