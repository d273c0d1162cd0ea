//! Unambiguous encoding of associated data and HMAC input.
//!
//! Plain concatenation would let ("ab", "c") collide with ("a", "bc"), so a
//! ciphertext could be moved between rows whose ids happen to concatenate to
//! the same string. Each part is therefore prefixed by its length as a
//! big-endian u64, and the first part is always a label naming the purpose
//! and format version, so encodings for different purposes never coincide.

/// Encodes `parts` as `len(part) || part` for each part, in order.
pub(crate) fn encode(parts: &[&[u8]]) -> Vec<u8> {
    let total: usize = parts.iter().map(|p| 8 + p.len()).sum();
    let mut out = Vec::with_capacity(total);
    for part in parts {
        // usize is at most 64 bits on every target Rust supports, so this
        // widening cast is lossless.
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn shifting_bytes_between_parts_changes_the_encoding() {
        assert_ne!(encode(&[b"ab", b"c"]), encode(&[b"a", b"bc"]));
        assert_ne!(encode(&[b"", b"abc"]), encode(&[b"abc", b""]));
    }

    #[test]
    fn each_part_is_prefixed_by_its_big_endian_length() {
        assert_eq!(encode(&[b"hi"]), [0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }
}
