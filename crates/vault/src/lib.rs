//! Sealing of client PHI for Regroup, per therapist, so that destroying one
//! therapist's data key makes all their clients' data unreadable everywhere,
//! backups included (crypto-shredding).
//!
//! - [`MasterKey`]: from a 0600 key file or `REGROUP_MASTER_KEY`; wraps data keys.
//! - [`DataKey`]: one per therapist; seals fields ([`DataKey::seal`]) bound to a
//!   [`FieldContext`], and computes blind indexes ([`DataKey::blind_index`]).
//! - [`rewrap`]: one step of master key rotation.
//! - [`BackupKey`] and [`backup_stream`]: encrypted, chunked database backups
//!   that refuse truncation, reordering and any altered byte.
//!
//! Pure library: no I/O beyond key files and the streams handed in, no database, no async. See
//! README.md for the byte formats.

mod aad;
mod backup_key;
pub mod backup_stream;
mod blind_index;
mod data_key;
mod envelope;
mod error;
#[cfg(unix)]
mod key_file;
mod key_text;
mod master;
mod seal;
mod xchacha;

pub use backup_key::BackupKey;
pub use blind_index::normalize_email;
pub use data_key::DataKey;
pub use error::{Result, VaultError};
pub use master::{rewrap, MasterKey};
pub use seal::FieldContext;
