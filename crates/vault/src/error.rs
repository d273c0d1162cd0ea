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

    /// Reading or creating the master key file failed.
    #[error("master key file {}: {source}", path.display())]
    KeyFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The master key file grants any permission to group or others.
    #[error(
        "master key file {} has mode {mode:03o}; it must not be accessible to group or others (chmod 600)",
        path.display()
    )]
    InsecureKeyFile { path: PathBuf, mode: u32 },

    /// A master key (file content or `REGROUP_MASTER_KEY`) is not base64 of
    /// exactly 32 bytes.
    #[error("master key is not base64 of exactly 32 bytes")]
    BadKeyEncoding,
}

/// Result alias for the vault.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;
