use rand::Rng;

use super::tokens::hash_token;

pub const CODE_COUNT: usize = 10;
// No 0/O or 1/I/L: codes are read off paper and typed by hand.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Ten fresh codes like `K7QM-4XRT-9BWD` (about 59 bits each).
pub fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..CODE_COUNT)
        .map(|_| {
            let chars: String = (0..12)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
        })
        .collect()
}

/// Normalises what a person typed (case, spaces, dashes) before hashing.
pub fn hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hash_token(&normal)
}

/// True when the input has the shape of a recovery code rather than a TOTP code.
pub fn looks_like_code(input: &str) -> bool {
    input.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_are_generated() {
        let codes = generate();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 14 && looks_like_code(c)));
    }

    #[test]
    fn typing_variations_hash_the_same() {
        assert_eq!(hash("k7qm-4xrt-9bwd"), hash("K7QM 4XRT 9BWD"));
    }
}
