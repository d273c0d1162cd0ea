//! The master key and the wrapping of per-therapist data keys under it.

use std::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::aad;
use crate::data_key::DataKey;
use crate::envelope;
use crate::error::{Result, VaultError};
use crate::key_text;

const WRAP_INFO: &[u8] = b"regroup-vault/v1/wrap";
const WRAP_LABEL: &[u8] = b"regroup-vault/v1/wrapped-data-key";
const FINGERPRINT_LABEL: &[u8] = b"regroup-vault/v1/master-fingerprint";

/// The 256-bit key that wraps every therapist's data key. It never encrypts
/// PHI itself, so rotating it touches only the key store, never client rows.
///
/// Not `Clone`, zeroized on drop; `Debug` shows only the fingerprint.
#[derive(ZeroizeOnDrop)]
pub struct MasterKey {
    bytes: [u8; 32],
}

impl MasterKey {
    /// A fresh random master key.
    #[must_use]
    pub fn generate() -> Self {
        Self {
            bytes: key_text::random(),
        }
    }

    /// Parses base64 of exactly 32 bytes, as in `REGROUP_MASTER_KEY` or the key
    /// file. Surrounding whitespace and missing padding are tolerated.
    pub fn from_base64(encoded: &str) -> Result<Self> {
        Ok(Self {
            bytes: key_text::parse(encoded)?,
        })
    }

    /// Padded standard base64, the form of the key file and of
    /// `REGROUP_MASTER_KEY`. Zeroized when dropped.
    #[must_use]
    pub fn to_base64(&self) -> Zeroizing<String> {
        key_text::encode(&self.bytes)
    }

    /// A short public id of this key (16 hex digits): the first 8 bytes of
    /// HMAC-SHA256 keyed by the master key over a fixed label. Store it beside
    /// each wrapped data key to know which master key wrapped it, e.g. to
    /// resume an interrupted rotation. Reveals nothing usable about the key.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes)
            // HMAC accepts keys of any length.
            .expect("HMAC takes any key length");
        mac.update(FINGERPRINT_LABEL);
        let digest = mac.finalize().into_bytes();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Encrypts `key` for storage in the key store, bound to `owner_id` (the
    /// therapist's id) as associated data, so a wrapped key copied to another
    /// therapist's row fails to unwrap.
    #[must_use]
    pub fn wrap(&self, owner_id: &str, key: &DataKey) -> Vec<u8> {
        envelope::seal(&self.wrap_key(), &wrap_aad(owner_id), key.as_bytes())
    }

    /// Decrypts a key made by [`MasterKey::wrap`] for the same `owner_id`.
    pub fn unwrap(&self, owner_id: &str, wrapped: &[u8]) -> Result<DataKey> {
        let plain = Zeroizing::new(envelope::open(
            &self.wrap_key(),
            &wrap_aad(owner_id),
            wrapped,
        )?);
        // Authentic data of the wrong length could only come from a bug or a
        // future format, never from `wrap`; treat it as unreadable.
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Malformed)?;
        Ok(DataKey::from_bytes(bytes))
    }

    fn wrap_key(&self) -> Zeroizing<[u8; 32]> {
        // The master key is uniformly random, so HKDF needs no salt. Wrapping
        // under a derived key keeps the raw master key to this one use and
        // the fingerprint.
        let hkdf = Hkdf::<Sha256>::new(None, &self.bytes);
        let mut out = Zeroizing::new([0u8; 32]);
        hkdf.expand(WRAP_INFO, out.as_mut())
            // 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
            .expect("32-byte HKDF output is always valid");
        out
    }
}

fn wrap_aad(owner_id: &str) -> Vec<u8> {
    aad::encode(&[WRAP_LABEL, owner_id.as_bytes()])
}

/// Master key rotation for one data key: unwrap under `old`, wrap under `new`.
/// Sealed client rows are untouched, because the data key itself is unchanged.
pub fn rewrap(old: &MasterKey, new: &MasterKey, owner_id: &str, wrapped: &[u8]) -> Result<Vec<u8>> {
    let key = old.unwrap(owner_id, wrapped)?;
    Ok(new.wrap(owner_id, &key))
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    #[test]
    fn a_wrapped_data_key_unwraps_to_the_same_key() {
        let master = MasterKey::generate();
        let key = DataKey::generate();
        let wrapped = master.wrap("therapist-1", &key);
        let back = master.unwrap("therapist-1", &wrapped).unwrap();
        assert_eq!(back.as_bytes(), key.as_bytes());
    }

    #[test]
    fn a_wrapped_key_is_73_bytes_and_differs_each_time() {
        let master = MasterKey::generate();
        let key = DataKey::generate();
        let a = master.wrap("therapist-1", &key);
        assert_eq!(a.len(), 1 + 24 + 32 + 16);
        assert_ne!(a, master.wrap("therapist-1", &key));
    }

    #[test]
    fn a_wrapped_key_under_another_owner_fails_to_unwrap() {
        let master = MasterKey::generate();
        let wrapped = master.wrap("therapist-1", &DataKey::generate());
        assert!(matches!(
            master.unwrap("therapist-2", &wrapped),
            Err(VaultError::Tampered)
        ));
    }

    #[test]
    fn a_wrapped_key_with_a_flipped_byte_fails_to_unwrap() {
        let master = MasterKey::generate();
        let mut wrapped = master.wrap("therapist-1", &DataKey::generate());
        let last = wrapped.len() - 1;
        wrapped[last] ^= 0x01;
        assert!(matches!(
            master.unwrap("therapist-1", &wrapped),
            Err(VaultError::Tampered)
        ));
    }

    #[test]
    fn another_master_key_cannot_unwrap() {
        let wrapped = MasterKey::generate().wrap("therapist-1", &DataKey::generate());
        assert!(matches!(
            MasterKey::generate().unwrap("therapist-1", &wrapped),
            Err(VaultError::Tampered)
        ));
    }

    #[test]
    fn rewrap_moves_a_key_to_the_new_master_and_the_old_master_cannot_unwrap_it() {
        let (old, new) = (MasterKey::generate(), MasterKey::generate());
        let key = DataKey::generate();
        let wrapped = old.wrap("therapist-1", &key);
        let rewrapped = rewrap(&old, &new, "therapist-1", &wrapped).unwrap();
        let back = new.unwrap("therapist-1", &rewrapped).unwrap();
        assert_eq!(back.as_bytes(), key.as_bytes());
        assert!(matches!(
            old.unwrap("therapist-1", &rewrapped),
            Err(VaultError::Tampered)
        ));
    }

    #[test]
    fn rewrap_with_the_wrong_old_master_fails_and_wraps_nothing() {
        let wrapped = MasterKey::generate().wrap("therapist-1", &DataKey::generate());
        let result = rewrap(
            &MasterKey::generate(),
            &MasterKey::generate(),
            "therapist-1",
            &wrapped,
        );
        assert!(matches!(result, Err(VaultError::Tampered)));
    }

    #[test]
    fn from_base64_round_trips_with_or_without_padding_and_whitespace() {
        let master = MasterKey::generate();
        let padded = master.to_base64();
        assert_eq!(padded.len(), 44);
        for text in [
            padded.to_string(),
            padded.trim_end_matches('=').to_string(),
            format!("  {}\n", *padded),
        ] {
            let parsed = MasterKey::from_base64(&text).unwrap();
            assert_eq!(parsed.fingerprint(), master.fingerprint());
        }
    }

    #[test]
    fn from_base64_rejects_wrong_lengths_and_non_base64() {
        for len in [0, 16, 31, 33, 64] {
            let text = STANDARD.encode(vec![7u8; len]);
            assert!(
                matches!(
                    MasterKey::from_base64(&text),
                    Err(VaultError::BadKeyEncoding)
                ),
                "accepted {len} bytes"
            );
        }
        assert!(matches!(
            MasterKey::from_base64("not*base64"),
            Err(VaultError::BadKeyEncoding)
        ));
    }

    #[test]
    fn the_fingerprint_is_stable_short_and_differs_between_keys() {
        let master = MasterKey::generate();
        assert_eq!(master.fingerprint(), master.fingerprint());
        assert_eq!(master.fingerprint().len(), 16);
        assert_ne!(master.fingerprint(), MasterKey::generate().fingerprint());
    }

    #[test]
    fn debug_of_a_master_key_shows_the_fingerprint_and_not_the_bytes() {
        let master = MasterKey::from_base64(&STANDARD.encode([0xAB; 32])).unwrap();
        let shown = format!("{master:?} {master:#?}");
        assert!(shown.contains(&master.fingerprint()));
        assert!(!shown.contains(master.to_base64().as_str()));
        assert!(!shown.contains("171"), "decimal byte leaked: {shown}");
        assert!(!shown.contains("abab"), "hex bytes leaked: {shown}");
    }
}
