//! The backup key: encrypts whole-database backups. It is separate from the
//! master key so that a backup copy and its key can be kept by someone who
//! can never unwrap a data key, and so losing one key exposes one thing.

use std::fmt;

use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::error::Result;
use crate::key_text;

/// 32 random bytes; from `DATA_DIR/backup.key` or `REGROUP_BACKUP_KEY`.
///
/// Not `Clone`, zeroized on drop; `Debug` shows nothing of the key.
#[derive(ZeroizeOnDrop)]
pub struct BackupKey {
    bytes: [u8; 32],
}

impl BackupKey {
    /// A fresh random backup key.
    #[must_use]
    pub fn generate() -> Self {
        Self {
            bytes: key_text::random(),
        }
    }

    /// Parses base64 of exactly 32 bytes; whitespace and missing padding are
    /// tolerated, as for the master key.
    pub fn from_base64(encoded: &str) -> Result<Self> {
        Ok(Self {
            bytes: key_text::parse(encoded)?,
        })
    }

    /// Padded standard base64, the form of the key file.
    #[must_use]
    pub fn to_base64(&self) -> Zeroizing<String> {
        key_text::encode(&self.bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupKey").finish_non_exhaustive()
    }
}
