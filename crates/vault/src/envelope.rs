//! The sealed-bytes format shared by wrapped data keys and sealed fields:
//!
//! ```text
//! version (1 byte, = 1) || nonce (24 bytes, random) || ciphertext || tag (16 bytes)
//! ```
//!
//! Version 1 is XChaCha20-Poly1305. Its 192-bit nonce is large enough to pick
//! at random for every message without a realistic chance of reuse, so no
//! counter has to be kept in the database.

use rand::rngs::OsRng;
use rand::RngCore;

use crate::error::{Result, VaultError};
use crate::xchacha::{self, NONCE_LEN, TAG_LEN};

pub(crate) const VERSION: u8 = 1;
/// Bytes a sealed value adds to its plaintext.
pub(crate) const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Encrypts `plaintext` under `key`, authenticating `aad` as well.
pub(crate) fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    // OsRng panics only if the operating system's random source fails; there
    // is no safe way to seal without randomness, so aborting is right.
    OsRng.fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    xchacha::seal_append(key, &nonce, aad, plaintext, &mut out);
    out
}

/// Decrypts bytes made by [`seal`] with the same `key` and `aad`.
pub(crate) fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    open_vec(key, aad, sealed.to_vec())
}

/// [`open`] for bytes the caller owns: they are decrypted where they are.
pub(crate) fn open_vec(key: &[u8; 32], aad: &[u8], mut sealed: Vec<u8>) -> Result<Vec<u8>> {
    let (&version, rest) = sealed.split_first().ok_or(VaultError::Malformed)?;
    if version != VERSION {
        return Err(VaultError::UnsupportedVersion(version));
    }
    let Some((nonce, ciphertext)) = rest.split_first_chunk::<NONCE_LEN>() else {
        return Err(VaultError::Malformed);
    };
    if ciphertext.len() < TAG_LEN {
        return Err(VaultError::Malformed);
    }
    let nonce = *nonce;
    xchacha::open_within(key, &nonce, aad, &mut sealed, 1 + NONCE_LEN)
        .map_err(|_| VaultError::Tampered)?;
    Ok(sealed)
}
