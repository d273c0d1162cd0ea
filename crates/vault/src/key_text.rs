//! What every 256-bit key of ours shares: drawn from the OS, written as
//! padded base64, read back leniently (operators paste keys by hand).

use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::{Result, VaultError};

/// Accepts keys with or without `=` padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// 32 fresh random bytes.
pub(crate) fn random() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    // OsRng panics only if the operating system's random source fails; a
    // key must never come from anything weaker, so aborting is right.
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Base64 of exactly 32 bytes; surrounding whitespace and missing padding
/// are tolerated.
pub(crate) fn parse(encoded: &str) -> Result<[u8; 32]> {
    let decoded = Zeroizing::new(
        LENIENT_BASE64
            .decode(encoded.trim())
            .map_err(|_| VaultError::BadKeyEncoding)?,
    );
    decoded
        .as_slice()
        .try_into()
        .map_err(|_| VaultError::BadKeyEncoding)
}

/// Padded standard base64, zeroized when dropped.
pub(crate) fn encode(bytes: &[u8; 32]) -> Zeroizing<String> {
    Zeroizing::new(STANDARD.encode(bytes))
}
