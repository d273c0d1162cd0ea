//! XChaCha20-Poly1305, the vault's one cipher (sealed fields, wrapped data
//! keys, backup chunks), built as its specification builds it
//! (draft-irtf-cfrg-xchacha): HChaCha20 turns the key and the first 16 bytes
//! of the 24-byte nonce into a subkey, and ChaCha20-Poly1305 (RFC 8439) runs
//! under that subkey with four zero bytes and the nonce's last 8 bytes.
//!
//! Why not the `chacha20poly1305` crate's `XChaCha20Poly1305`, which does the
//! same: a client list opens 200 short fields per request, and ring's
//! ChaCha20-Poly1305 opens one in about half the time (see "Web: ring opens
//! the fields" in docs/benchmarks.md). The bytes are the same; the tests
//! check them against that crate both ways.

use chacha20::cipher::consts::U10;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use zeroize::Zeroizing;

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;

/// The ciphertext or its associated data was altered, or the key is wrong.
#[derive(Debug)]
pub(crate) struct Rejected;

/// Appends the ciphertext of `plaintext` and its tag to `out`.
pub(crate) fn seal_append(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) {
    let (cipher, nonce) = subkey(key, nonce);
    let start = out.len();
    out.reserve(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .seal_in_place_separate_tag(nonce, Aad::from(aad), &mut out[start..])
        // ring refuses only inputs over 256 GiB; nothing the vault seals
        // comes near (a backup chunk is 64 KiB).
        .expect("input within ChaCha20-Poly1305's length limit");
    out.extend_from_slice(tag.as_ref());
}

/// The plaintext of `sealed` (ciphertext, then tag), if it is authentic.
pub(crate) fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, Rejected> {
    let mut buf = sealed.to_vec();
    open_within(key, nonce, aad, &mut buf, 0)?;
    Ok(buf)
}

/// Opens the ciphertext and tag that start at `start` in `buf` and leaves
/// `buf` holding only the plaintext: a value decoded into a buffer of its own
/// opens there, without a copy.
pub(crate) fn open_within(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut Vec<u8>,
    start: usize,
) -> Result<(), Rejected> {
    let (cipher, nonce) = subkey(key, nonce);
    // On failure ring zeroes what it had decrypted before returning.
    let len = cipher
        .open_within(nonce, Aad::from(aad), buf, start..)
        .map_err(|_| Rejected)?
        .len();
    buf.truncate(len);
    Ok(())
}

/// The ChaCha20-Poly1305 key and nonce that XChaCha20 derives for `nonce`.
fn subkey(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN]) -> (LessSafeKey, Nonce) {
    let (head, tail) = nonce.split_at(16);
    let derived: Zeroizing<[u8; KEY_LEN]> =
        Zeroizing::new(chacha20::hchacha::<U10>(key.into(), head.into()).into());
    let cipher = UnboundKey::new(&CHACHA20_POLY1305, derived.as_ref())
        // The subkey is always 32 bytes, the one length ChaCha20 takes.
        .expect("a 32-byte ChaCha20-Poly1305 key");
    let mut short = [0u8; 12];
    short[4..].copy_from_slice(tail);
    (
        LessSafeKey::new(cipher),
        Nonce::assume_unique_for_key(short),
    )
}

#[cfg(test)]
mod tests {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    use rand::rngs::OsRng;
    use rand::RngCore;

    use super::*;

    fn random<const N: usize>() -> [u8; N] {
        let mut bytes = [0u8; N];
        OsRng.fill_bytes(&mut bytes);
        bytes
    }

    /// Lengths around ChaCha20's 64-byte blocks and Poly1305's 16-byte ones.
    const LENGTHS: [usize; 12] = [0, 1, 15, 16, 17, 20, 63, 64, 65, 200, 1_000, 65_536];

    #[test]
    fn what_it_seals_the_reference_implementation_opens() {
        for len in LENGTHS {
            let (key, nonce) = (random::<KEY_LEN>(), random::<NONCE_LEN>());
            let (plain, aad) = (vec![7u8; len], vec![9u8; len % 150]);
            let mut sealed = Vec::new();
            seal_append(&key, &nonce, &aad, &plain, &mut sealed);
            let opened = XChaCha20Poly1305::new(&key.into())
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &sealed,
                        aad: &aad,
                    },
                )
                .unwrap_or_else(|_| panic!("the reference rejected {len} bytes"));
            assert_eq!(opened, plain, "{len} bytes");
        }
    }

    #[test]
    fn it_opens_what_the_reference_implementation_seals() {
        for len in LENGTHS {
            let (key, nonce) = (random::<KEY_LEN>(), random::<NONCE_LEN>());
            let (plain, aad) = (vec![3u8; len], vec![5u8; len % 150]);
            let sealed = XChaCha20Poly1305::new(&key.into())
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &plain,
                        aad: &aad,
                    },
                )
                .unwrap();
            assert_eq!(
                open(&key, &nonce, &aad, &sealed).unwrap(),
                plain,
                "{len} bytes"
            );
        }
    }

    #[test]
    fn any_changed_byte_of_key_nonce_aad_or_sealed_bytes_is_rejected() {
        let (key, nonce, aad) = (random::<KEY_LEN>(), random::<NONCE_LEN>(), random::<40>());
        let mut sealed = Vec::new();
        seal_append(&key, &nonce, &aad, b"ada@example.org", &mut sealed);
        for i in 0..KEY_LEN {
            let mut k = key;
            k[i] ^= 1;
            assert!(open(&k, &nonce, &aad, &sealed).is_err(), "key byte {i}");
        }
        for i in 0..NONCE_LEN {
            let mut n = nonce;
            n[i] ^= 1;
            assert!(open(&key, &n, &aad, &sealed).is_err(), "nonce byte {i}");
        }
        for i in 0..aad.len() {
            let mut a = aad;
            a[i] ^= 1;
            assert!(open(&key, &nonce, &a, &sealed).is_err(), "aad byte {i}");
        }
        for i in 0..sealed.len() {
            let mut s = sealed.clone();
            s[i] ^= 1;
            assert!(open(&key, &nonce, &aad, &s).is_err(), "sealed byte {i}");
        }
        assert!(open(&key, &nonce, &aad, &sealed[..TAG_LEN - 1]).is_err());
        assert_eq!(
            open(&key, &nonce, &aad, &sealed).unwrap(),
            b"ada@example.org"
        );
    }

    #[test]
    fn a_value_behind_a_prefix_opens_in_its_buffer_which_keeps_only_the_plaintext() {
        let (key, nonce) = (random::<KEY_LEN>(), random::<NONCE_LEN>());
        let mut buf = b"prefix".to_vec();
        seal_append(&key, &nonce, b"aad", b"ada@example.org", &mut buf);
        let mut altered = buf.clone();
        *altered.last_mut().unwrap() ^= 1;
        open_within(&key, &nonce, b"aad", &mut buf, 6).unwrap();
        assert_eq!(buf, b"ada@example.org");
        assert!(open_within(&key, &nonce, b"aad", &mut altered, 6).is_err());
    }

    /// The test vector of draft-irtf-cfrg-xchacha-03, appendix A.3.1.
    #[test]
    fn the_specifications_test_vector_seals_to_its_ciphertext() {
        let key: [u8; KEY_LEN] = std::array::from_fn(|i| 0x80 + i as u8);
        let nonce: [u8; NONCE_LEN] = std::array::from_fn(|i| 0x40 + i as u8);
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let plain = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let mut sealed = Vec::new();
        seal_append(&key, &nonce, &aad, plain, &mut sealed);
        let expected = hex(concat!(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb",
            "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452",
            "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9",
            "21f9664c97637da9768812f615c68b13b52e",
            "c0875924c1c7987947deafd8780acf49",
        ));
        assert_eq!(sealed, expected);
        assert_eq!(open(&key, &nonce, &aad, &sealed).unwrap(), plain);
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }
}
