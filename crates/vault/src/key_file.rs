//! Key files (the master key, the backup key): base64 of 32 bytes plus a
//! newline, mode 0600.
//!
//! Base64 rather than raw bytes so the same text works as `REGROUP_MASTER_KEY`
//! (or `REGROUP_BACKUP_KEY`) and survives being copied into a password manager.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::backup_key::BackupKey;
use crate::error::{Result, VaultError};
use crate::master::MasterKey;

/// A valid file is 45 bytes; reading more than this only wastes memory on a
/// wrong file.
const MAX_FILE_LEN: u64 = 256;

impl MasterKey {
    /// Loads the key file at `path`, or creates it with a fresh random key if
    /// it does not exist. Safe against a concurrent first start: exactly one
    /// key is created and every caller gets that one.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Self> {
        load_or_create(
            path.as_ref(),
            Self::generate,
            |k| k.to_base64(),
            Self::from_base64,
        )
    }

    /// Loads an existing key file. Refuses a file that grants any permission
    /// to group or others, because the key would already be exposed.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_base64(&read_private(path.as_ref())?)
    }

    /// Creates a key file with a fresh random key; fails with an
    /// `AlreadyExists` [`VaultError::KeyFile`] if `path` exists. Use it to write
    /// the new key during master key rotation.
    pub fn create_new(path: impl AsRef<Path>) -> Result<Self> {
        let key = Self::generate();
        create_new(path.as_ref(), &key.to_base64())?;
        Ok(key)
    }
}

impl BackupKey {
    /// Loads the backup key file at `path`, or creates it (mode 0600) with a
    /// fresh random key; refused like the master key file when group or others
    /// may read it.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Self> {
        load_or_create(
            path.as_ref(),
            Self::generate,
            |k| k.to_base64(),
            Self::from_base64,
        )
    }

    /// Loads an existing backup key file (restoring must never make a new,
    /// useless key), refused when group or others may read it.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_base64(&read_private(path.as_ref())?)
    }
}

fn load_or_create<K>(
    path: &Path,
    generate: fn() -> K,
    encode: fn(&K) -> Zeroizing<String>,
    decode: fn(&str) -> Result<K>,
) -> Result<K> {
    match read_private(path) {
        Ok(text) => decode(&text),
        Err(VaultError::KeyFile { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            let key = generate();
            match create_new(path, &encode(&key)) {
                Ok(()) => Ok(key),
                Err(VaultError::KeyFile { source, .. })
                    if source.kind() == io::ErrorKind::AlreadyExists =>
                {
                    // Another process created it between our two calls.
                    decode(&read_private(path)?)
                }
                Err(other) => Err(other),
            }
        }
        Err(other) => Err(other),
    }
}

/// The text of an existing key file, refusing one that group or others may
/// access.
fn read_private(path: &Path) -> Result<Zeroizing<String>> {
    let io_err = |source| VaultError::KeyFile {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    // Check the opened file, not the path, so a swap between check and
    // read cannot slip a different file past the check.
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::InsecureKeyFile {
            path: path.to_owned(),
            mode,
        });
    }
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_FILE_LEN)
        .read_to_string(&mut text)
        .map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => VaultError::BadKeyEncoding,
            _ => io_err(e),
        })?;
    Ok(text)
}

/// Writes `base64` to a new key file at `path`.
///
/// The key is written to a temporary file created with mode 0600 (never
/// briefly wider), synced, then hard-linked into place, so `path` either
/// does not exist or holds a complete key, even after a crash.
fn create_new(path: &Path, base64: &str) -> Result<()> {
    let io_err = |source| VaultError::KeyFile {
        path: path.to_owned(),
        source,
    };
    let tmp = temp_path(path);
    let written = write_private(&tmp, base64.as_bytes()).and_then(|()| fs::hard_link(&tmp, path));
    // The temporary name is only a staging area; remove it whether or not
    // the link succeeded. Failing to remove it leaves a 0600 file behind,
    // which is untidy but not a leak.
    let _ = fs::remove_file(&tmp);
    written.map_err(io_err)?;
    sync_parent_dir(path).map_err(io_err)
}

fn write_private(path: &Path, base64: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(base64)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn temp_path(path: &Path) -> PathBuf {
    let mut suffix = [0u8; 8];
    // OsRng panics only if the operating system's random source fails.
    OsRng.fill_bytes(&mut suffix);
    let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.{hex}.tmp"))
}

/// Makes the new directory entry durable, so a crash right after creation
/// cannot lose the key that data keys are about to be wrapped under.
pub(crate) fn sync_parent_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_created_key_file_has_mode_0600_and_loads_back_as_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let created = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        let loaded = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(loaded.fingerprint(), created.fingerprint());
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", *created.to_base64()));
    }

    #[test]
    fn creating_leaves_no_temporary_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        MasterKey::load_or_create(dir.path().join("master.key")).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["master.key"]);
    }

    #[test]
    fn a_key_file_readable_by_group_or_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::load_or_create(&path).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = MasterKey::load_or_create(&path).unwrap_err();
            assert!(
                matches!(err, VaultError::InsecureKeyFile { mode: m, .. } if m == mode),
                "mode {mode:o}: {err}"
            );
            assert!(err.to_string().contains("chmod 600"));
        }
    }

    #[test]
    fn a_backup_key_file_is_created_0600_and_refused_when_others_may_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.key");
        let created = BackupKey::load_or_create(&path).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        let loaded = BackupKey::load_or_create(&path).unwrap();
        assert_eq!(*loaded.to_base64(), *created.to_base64());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            BackupKey::load_or_create(&path),
            Err(VaultError::InsecureKeyFile { .. })
        ));
    }

    #[test]
    fn a_key_file_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        write_private(&path, b"c2hvcnQ=").unwrap();
        assert!(matches!(
            MasterKey::load_or_create(&path),
            Err(VaultError::BadKeyEncoding)
        ));
    }

    #[test]
    fn create_new_refuses_to_overwrite_an_existing_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = MasterKey::create_new(&path).unwrap();
        let err = MasterKey::create_new(&path).unwrap_err();
        assert!(
            matches!(&err, VaultError::KeyFile { source, .. } if source.kind() == io::ErrorKind::AlreadyExists),
            "{err}"
        );
        assert_eq!(
            MasterKey::load(&path).unwrap().fingerprint(),
            first.fingerprint()
        );
    }

    #[test]
    fn a_missing_directory_is_a_key_file_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("master.key");
        let err = MasterKey::load_or_create(&path).unwrap_err();
        assert!(matches!(err, VaultError::KeyFile { .. }));
        assert!(err.to_string().contains("no-such-dir"));
    }
}
