//! Blind indexes: a keyed hash of a value, stored beside its sealed form so
//! the database can look it up (and enforce uniqueness) without plaintext.
//!
//! The HMAC key is derived from the therapist's data key, so (a) the same email
//! under two therapists gives unrelated indexes, which hides that two
//! therapists share a client, and (b) shredding the data key leaves the index
//! useless for confirming a guessed email.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::aad;
use crate::data_key::DataKey;

const BLIND_INDEX_LABEL: &[u8] = b"regroup-vault/v1/blind-index";

impl DataKey {
    /// HMAC-SHA256 of `normalized_value` for `column` (e.g. `"clients.email"`).
    /// The column is part of the input so equal values in different columns
    /// do not share an index. Normalize first (see [`normalize_email`]):
    /// the index only matches byte-identical input.
    #[must_use]
    pub fn blind_index(&self, column: &str, normalized_value: &str) -> [u8; 32] {
        let key = self.blind_index_key();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            // HMAC accepts keys of any length.
            .expect("HMAC takes any key length");
        mac.update(&aad::encode(&[
            BLIND_INDEX_LABEL,
            column.as_bytes(),
            normalized_value.as_bytes(),
        ]));
        mac.finalize().into_bytes().into()
    }
}

/// The form an email is indexed in: surrounding whitespace removed, lowercased.
/// Lowercasing the local part is technically lossy, but no mail provider in
/// practice distinguishes case, and therapists will type it either way.
#[must_use]
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blind_index_is_deterministic_for_one_key() {
        let key = DataKey::generate();
        assert_eq!(
            key.blind_index("clients.email", "ada@example.org"),
            key.blind_index("clients.email", "ada@example.org")
        );
    }

    #[test]
    fn the_blind_index_differs_across_keys() {
        let a = DataKey::generate().blind_index("clients.email", "ada@example.org");
        let b = DataKey::generate().blind_index("clients.email", "ada@example.org");
        assert_ne!(a, b);
    }

    #[test]
    fn the_blind_index_differs_across_columns_and_values() {
        let key = DataKey::generate();
        let base = key.blind_index("clients.email", "ada@example.org");
        assert_ne!(base, key.blind_index("clients.name", "ada@example.org"));
        assert_ne!(base, key.blind_index("clients.email", "bob@example.org"));
    }

    #[test]
    fn emails_differing_only_in_case_and_spaces_normalize_alike() {
        assert_eq!(normalize_email("  Ada@Example.ORG\n"), "ada@example.org");
        let key = DataKey::generate();
        assert_eq!(
            key.blind_index("clients.email", &normalize_email(" ADA@example.org")),
            key.blind_index("clients.email", &normalize_email("ada@EXAMPLE.org "))
        );
    }
}
