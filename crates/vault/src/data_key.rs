//! Per-therapist data keys and the subkeys derived from them.

use std::fmt;

use hkdf::Hkdf;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// HKDF `info` labels. Sealing and blind indexing use different subkeys so
/// that a weakness in one use can never leak the key of the other.
const SEAL_INFO: &[u8] = b"regroup-vault/v1/field-seal";
const BLIND_INDEX_INFO: &[u8] = b"regroup-vault/v1/blind-index";

/// One therapist's 256-bit data key. Every sealed field and blind index of
/// that therapist's clients depends on it; destroying its wrapped copy
/// destroys them all (crypto-shredding).
///
/// Not `Clone` on purpose: share it by reference or `Arc` so that no stray
/// copies of key material outlive their use. Zeroized on drop.
#[derive(ZeroizeOnDrop)]
pub struct DataKey {
    bytes: [u8; 32],
    /// The subkeys, derived once: listing a hundred clients opens two
    /// hundred fields, and an HKDF for each was most of its cost.
    seal: [u8; 32],
    blind_index: [u8; 32],
}

impl DataKey {
    /// A fresh random data key, for a new therapist.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // OsRng panics only if the operating system's random source fails; a
        // key must never come from anything weaker, so aborting is right.
        OsRng.fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        // `bytes` is a copy on this stack frame; wipe it once the key holds it.
        let bytes = Zeroizing::new(bytes);
        Self {
            bytes: *bytes,
            seal: *subkey(&bytes, SEAL_INFO),
            blind_index: *subkey(&bytes, BLIND_INDEX_INFO),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    pub(crate) fn seal_key(&self) -> &[u8; 32] {
        &self.seal
    }

    pub(crate) fn blind_index_key(&self) -> &[u8; 32] {
        &self.blind_index
    }
}

fn subkey(bytes: &[u8; 32], info: &[u8]) -> Zeroizing<[u8; 32]> {
    // The data key is already uniformly random, so HKDF needs no salt.
    let hkdf = Hkdf::<Sha256>::new(None, bytes);
    let mut out = Zeroizing::new([0u8; 32]);
    hkdf.expand(info, out.as_mut())
        // 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
        .expect("32-byte HKDF output is always valid");
    out
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::DataKey;

    #[test]
    fn debug_of_a_data_key_does_not_reveal_its_bytes() {
        let key = DataKey::from_bytes([0xAB; 32]);
        let shown = format!("{key:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "DataKey(<redacted>)");
        assert!(!shown.contains("171"), "decimal byte leaked: {shown}");
        assert!(
            !shown.to_lowercase().contains("ab"),
            "hex byte leaked: {shown}"
        );
    }

    #[test]
    fn seal_and_blind_index_subkeys_differ_from_each_other_and_the_key() {
        let key = DataKey::generate();
        assert_ne!(*key.seal_key(), *key.blind_index_key());
        assert_ne!(*key.seal_key(), *key.as_bytes());
        assert_ne!(*key.blind_index_key(), *key.as_bytes());
    }

    #[test]
    fn two_generated_data_keys_differ() {
        assert_ne!(
            DataKey::generate().as_bytes(),
            DataKey::generate().as_bytes()
        );
    }
}
