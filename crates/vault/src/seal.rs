//! Sealing individual database fields under a therapist's data key.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;

use crate::aad;
use crate::data_key::DataKey;
use crate::envelope;
use crate::error::{Result, VaultError};

/// Label of the field-sealing AAD; bump with the format version.
const FIELD_LABEL: &[u8] = b"regroup-vault/v1/field";

/// Where a sealed value lives. All four parts are bound into the ciphertext as
/// associated data, so a value copied to another owner, table, column or row
/// fails to open instead of silently showing up in the wrong place.
///
/// None of these may be PHI: they end up in error reports and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldContext<'a> {
    /// Id of the therapist who owns the data key.
    pub owner: &'a str,
    pub table: &'a str,
    pub column: &'a str,
    /// Primary key of the row, as text. It must be known before sealing, so
    /// rows with sealed fields need client-generated ids (e.g. UUIDs).
    pub row_id: &'a str,
}

impl FieldContext<'_> {
    fn aad(&self) -> Vec<u8> {
        aad::encode(&[
            FIELD_LABEL,
            self.owner.as_bytes(),
            self.table.as_bytes(),
            self.column.as_bytes(),
            self.row_id.as_bytes(),
        ])
    }
}

impl DataKey {
    /// Seals `plaintext` for the field described by `ctx`.
    /// Output: version byte, 24-byte random nonce, ciphertext, 16-byte tag.
    #[must_use]
    pub fn seal(&self, ctx: &FieldContext<'_>, plaintext: &[u8]) -> Vec<u8> {
        envelope::seal(self.seal_key(), &ctx.aad(), plaintext)
    }

    /// Opens a value made by [`DataKey::seal`] with the same key and context.
    pub fn open(&self, ctx: &FieldContext<'_>, sealed: &[u8]) -> Result<Vec<u8>> {
        envelope::open(self.seal_key(), &ctx.aad(), sealed)
    }

    /// Seals text and returns it as unpadded standard base64, for TEXT columns.
    #[must_use]
    pub fn seal_str(&self, ctx: &FieldContext<'_>, plaintext: &str) -> String {
        STANDARD_NO_PAD.encode(self.seal(ctx, plaintext.as_bytes()))
    }

    /// Opens a value made by [`DataKey::seal_str`].
    pub fn open_str(&self, ctx: &FieldContext<'_>, sealed: &str) -> Result<String> {
        let bytes = STANDARD_NO_PAD
            .decode(sealed)
            .map_err(|_| VaultError::Malformed)?;
        let plain = envelope::open_vec(self.seal_key(), &ctx.aad(), bytes)?;
        // The FromUtf8Error would carry the decrypted bytes; drop it.
        String::from_utf8(plain).map_err(|_| VaultError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: FieldContext<'static> = FieldContext {
        owner: "therapist-1",
        table: "clients",
        column: "email",
        row_id: "row-1",
    };

    #[test]
    fn a_sealed_value_opens_to_the_same_plaintext() {
        let key = DataKey::generate();
        let sealed = key.seal(&CTX, b"ada@example.org");
        assert_eq!(key.open(&CTX, &sealed).unwrap(), b"ada@example.org");
        assert_eq!(sealed.len(), envelope::OVERHEAD + b"ada@example.org".len());
    }

    #[test]
    fn a_sealed_string_opens_to_the_same_string() {
        let key = DataKey::generate();
        let sealed = key.seal_str(&CTX, "Ada Lovelace");
        assert!(!sealed.contains("Ada"));
        assert_eq!(key.open_str(&CTX, &sealed).unwrap(), "Ada Lovelace");
    }

    #[test]
    fn an_empty_value_round_trips() {
        let key = DataKey::generate();
        assert_eq!(key.open(&CTX, &key.seal(&CTX, b"")).unwrap(), b"");
    }

    #[test]
    fn a_value_moved_to_another_row_column_table_or_owner_fails_to_open() {
        let key = DataKey::generate();
        let sealed = key.seal(&CTX, b"Ada Lovelace");
        let elsewhere = [
            FieldContext {
                row_id: "row-2",
                ..CTX
            },
            FieldContext {
                column: "name",
                ..CTX
            },
            FieldContext {
                table: "sessions",
                ..CTX
            },
            FieldContext {
                owner: "therapist-2",
                ..CTX
            },
        ];
        for ctx in elsewhere {
            assert!(
                matches!(key.open(&ctx, &sealed), Err(VaultError::Tampered)),
                "opened under {ctx:?}"
            );
        }
    }

    #[test]
    fn contexts_whose_parts_concatenate_alike_do_not_collide() {
        let key = DataKey::generate();
        let a = FieldContext {
            table: "clients",
            column: "email",
            ..CTX
        };
        let b = FieldContext {
            table: "clientse",
            column: "mail",
            ..CTX
        };
        let sealed = key.seal(&a, b"x");
        assert!(matches!(key.open(&b, &sealed), Err(VaultError::Tampered)));
    }

    #[test]
    fn a_value_sealed_under_another_data_key_fails_to_open() {
        let sealed = DataKey::generate().seal(&CTX, b"Ada");
        let other = DataKey::generate();
        assert!(matches!(
            other.open(&CTX, &sealed),
            Err(VaultError::Tampered)
        ));
    }

    #[test]
    fn flipping_any_single_bit_after_the_version_byte_makes_opening_fail() {
        let key = DataKey::generate();
        let sealed = key.seal(&CTX, b"Ada");
        for i in 1..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    matches!(key.open(&CTX, &bad), Err(VaultError::Tampered)),
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn an_unknown_version_byte_is_reported_as_unsupported() {
        let key = DataKey::generate();
        let mut sealed = key.seal(&CTX, b"Ada");
        sealed[0] = 2;
        assert!(matches!(
            key.open(&CTX, &sealed),
            Err(VaultError::UnsupportedVersion(2))
        ));
    }

    #[test]
    fn truncated_or_empty_input_is_malformed_not_a_panic() {
        let key = DataKey::generate();
        let sealed = key.seal(&CTX, b"Ada");
        assert!(matches!(key.open(&CTX, &[]), Err(VaultError::Malformed)));
        for len in 1..envelope::OVERHEAD {
            assert!(matches!(
                key.open(&CTX, &sealed[..len]),
                Err(VaultError::Malformed)
            ));
        }
        assert!(matches!(
            key.open_str(&CTX, "not base64!"),
            Err(VaultError::Malformed)
        ));
    }

    #[test]
    fn two_seals_of_the_same_value_differ() {
        let key = DataKey::generate();
        assert_ne!(key.seal(&CTX, b"Ada"), key.seal(&CTX, b"Ada"));
    }

    #[test]
    fn opening_non_utf8_as_a_string_is_a_typed_error_without_the_bytes() {
        let key = DataKey::generate();
        let sealed = STANDARD_NO_PAD.encode(key.seal(&CTX, &[0xff, 0xfe]));
        let err = key.open_str(&CTX, &sealed).unwrap_err();
        assert!(matches!(err, VaultError::NotUtf8));
        assert_eq!(err.to_string(), "opened value is not valid UTF-8");
    }
}
