//! The sealed-bytes format shared by wrapped data keys and sealed fields:
//!
//! ```text
//! version (1 byte, = 1) || nonce (24 bytes, random) || ciphertext || tag (16 bytes)
//! ```
//!
//! Version 1 is XChaCha20-Poly1305. Its 192-bit nonce is large enough to pick
//! at random for every message without a realistic chance of reuse, so no
//! counter has to be kept in the database.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;

use crate::error::{Result, VaultError};

pub(crate) const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Bytes a sealed value adds to its plaintext.
pub(crate) const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Encrypts `plaintext` under `key`, authenticating `aad` as well.
pub(crate) fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    // OsRng panics only if the operating system's random source fails; there
    // is no safe way to seal without randomness, so aborting is right.
    OsRng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(key.into());
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // XChaCha20-Poly1305 only fails for plaintexts over 256 GiB, far beyond
        // any field or key this crate seals.
        .expect("plaintext within XChaCha20-Poly1305 length limit");
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Decrypts bytes made by [`seal`] with the same `key` and `aad`.
pub(crate) fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    let (&version, rest) = sealed.split_first().ok_or(VaultError::Malformed)?;
    if version != VERSION {
        return Err(VaultError::UnsupportedVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(VaultError::Malformed);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| VaultError::Tampered)
}
