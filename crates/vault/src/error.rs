//! The one error type of the vault.
//!
//! Variants name what went wrong and never carry plaintext or key material, so
//! they are safe to log and to show. In particular `NotUtf8` deliberately drops
//! `FromUtf8Error`, which would hold the decrypted bytes.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while loading keys or opening sealed data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// Authentication failed. An AEAD cannot tell these apart, so this one
    /// variant covers: the bytes were altered, the key is not the one that
    /// sealed them, or the context (owner, table, column, row id) differs.
    #[error("sealed data failed authentication: tampered, wrong key, or wrong context")]
    Tampered,

    /// Too short to be a sealed value or wrapped key, or not valid base64.
    #[error("sealed data is malformed")]
    Malformed,

    /// The format version byte is not one this build understands.
    #[error("unsupported sealed-data format version {0}")]
    UnsupportedVersion(u8),

    /// The opened value was expected to be text but is not UTF-8.
    #[error("opened value is not valid UTF-8")]
    NotUtf8,

    /// Reading or creating a key file (master key, backup key) failed.
    #[error("key file {}: {source}", path.display())]
    KeyFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A key file grants any permission to group or others.
    #[error(
        "key file {} has mode {mode:03o}; it must not be accessible to group or others (chmod 600)",
        path.display()
    )]
    InsecureKeyFile { path: PathBuf, mode: u32 },

    /// A master or backup key (file content or environment variable) is not
    /// base64 of exactly 32 bytes.
    #[error("key is not base64 of exactly 32 bytes")]
    BadKeyEncoding,

    /// The file does not start like a Regroup backup.
    #[error("not a Regroup backup file")]
    NotABackup,

    /// A backup chunk failed authentication. As with [`VaultError::Tampered`]
    /// an AEAD cannot say which: the file was altered, cut short or had its
    /// parts reordered, or the backup key is not the one that made it.
    #[error("backup failed authentication: it was altered or truncated, or the backup key is not the one that made it")]
    BackupRejected,

    /// Reading or writing a backup stream failed.
    #[error("while reading or writing a backup: {0}")]
    BackupIo(#[source] io::Error),
}

/// Result alias for the vault.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;
