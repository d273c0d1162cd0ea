//! The encrypted backup file: a short header, then the database snapshot in
//! sealed chunks (the STREAM construction over XChaCha20-Poly1305).
//!
//! ```text
//! header: magic "RGBACKUP" || version (1) || source (1 = SQLite, 2 = PostgreSQL)
//!         || created_at (i64 BE, Unix seconds) || salt (32 random bytes)
//! chunks: sealed(64 KiB of plaintext) ... sealed(last 0..=64 KiB)
//! ```
//!
//! Each file gets its own key, HKDF(backup key, salt), so chunk nonces can be
//! a plain counter without ever repeating across files. Every chunk's nonce
//! and associated data hold its number and a last-chunk flag, and the
//! associated data also holds the whole header: dropping, reordering or
//! repeating chunks, cutting the file short (even at a chunk boundary) or
//! editing the header all fail authentication.
//!
//! Decryption writes plaintext as it goes, so output from a file that turns
//! out to be damaged must be thrown away: write it to a temporary file and
//! use it only when [`decrypt`] returns `Ok`.

use std::io::{Read, Write};

use hkdf::Hkdf;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::backup_key::BackupKey;
use crate::error::{Result, VaultError};
use crate::xchacha::{self, NONCE_LEN, TAG_LEN};

const MAGIC: &[u8; 8] = b"RGBACKUP";
const VERSION: u8 = 1;
const SALT_LEN: usize = 32;
const HEADER_LEN: usize = MAGIC.len() + 1 + 1 + 8 + SALT_LEN;
const CHUNK_LEN: usize = 64 * 1024;
const STREAM_INFO: &[u8] = b"regroup-vault/v1/backup-stream";

/// Which database the snapshot inside a backup comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupSource {
    /// A SQLite database file (`VACUUM INTO`).
    Sqlite,
    /// A `pg_dump --format=custom` archive.
    Postgres,
}

impl BackupSource {
    fn to_byte(self) -> u8 {
        match self {
            Self::Sqlite => 1,
            Self::Postgres => 2,
        }
    }

    fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            1 => Ok(Self::Sqlite),
            2 => Ok(Self::Postgres),
            _ => Err(VaultError::NotABackup),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// What a backup says about itself, in clear (but authenticated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupHeader {
    pub source: BackupSource,
    /// Unix seconds, UTC.
    pub created_at: i64,
}

/// Encrypts everything `input` yields into `output`; returns the number of
/// plaintext bytes.
pub fn encrypt(
    key: &BackupKey,
    header: BackupHeader,
    mut input: impl Read,
    mut output: impl Write,
) -> Result<u64> {
    let mut salt = [0u8; SALT_LEN];
    // OsRng panics only if the operating system's random source fails.
    OsRng.fill_bytes(&mut salt);
    let header_bytes = encode_header(header, &salt);
    output
        .write_all(&header_bytes)
        .map_err(VaultError::BackupIo)?;
    let stream = Stream::new(key, header_bytes);
    let mut total = 0u64;
    let mut counter = 0u64;
    let mut current = Zeroizing::new(read_up_to(&mut input, CHUNK_LEN)?);
    loop {
        // A full chunk is the last one only if nothing follows it, so look
        // one chunk ahead before sealing.
        let next = match current.len() == CHUNK_LEN {
            true => Zeroizing::new(read_up_to(&mut input, CHUNK_LEN)?),
            false => Zeroizing::new(Vec::new()),
        };
        let last = next.is_empty();
        let sealed = stream.seal(counter, last, &current);
        output.write_all(&sealed).map_err(VaultError::BackupIo)?;
        total += current.len() as u64;
        if last {
            break;
        }
        current = next;
        counter += 1;
    }
    output.flush().map_err(VaultError::BackupIo)?;
    Ok(total)
}

/// Reads only the header: what a backup is, before (or without) decrypting it.
pub fn read_header(mut input: impl Read) -> Result<BackupHeader> {
    let bytes = read_header_bytes(&mut input)?;
    decode_header(&bytes)
}

/// Decrypts a whole backup made by [`encrypt`] into `output`. Only an `Ok`
/// means the output is complete and authentic (see the module notes).
pub fn decrypt(
    key: &BackupKey,
    mut input: impl Read,
    mut output: impl Write,
) -> Result<BackupHeader> {
    let header_bytes = read_header_bytes(&mut input)?;
    let header = decode_header(&header_bytes)?;
    let stream = Stream::new(key, header_bytes);
    let sealed_len = CHUNK_LEN + TAG_LEN;
    let mut counter = 0u64;
    let mut current = read_up_to(&mut input, sealed_len)?;
    loop {
        let next = match current.len() == sealed_len {
            true => read_up_to(&mut input, sealed_len)?,
            false => Vec::new(),
        };
        let last = next.is_empty();
        let plain = Zeroizing::new(stream.open(counter, last, &current)?);
        output.write_all(&plain).map_err(VaultError::BackupIo)?;
        if last {
            break;
        }
        current = next;
        counter += 1;
    }
    output.flush().map_err(VaultError::BackupIo)?;
    Ok(header)
}

/// The per-file key and the header every chunk is bound to.
struct Stream {
    file_key: Zeroizing<[u8; 32]>,
    header: [u8; HEADER_LEN],
}

impl Stream {
    fn new(key: &BackupKey, header: [u8; HEADER_LEN]) -> Self {
        let salt = &header[HEADER_LEN - SALT_LEN..];
        let hkdf = Hkdf::<Sha256>::new(Some(salt), key.as_bytes());
        let mut file_key = Zeroizing::new([0u8; 32]);
        hkdf.expand(STREAM_INFO, file_key.as_mut())
            // 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
            .expect("32-byte HKDF output is always valid");
        Self { file_key, header }
    }

    fn seal(&self, counter: u64, last: bool, plain: &[u8]) -> Vec<u8> {
        let mut sealed = Vec::with_capacity(plain.len() + TAG_LEN);
        xchacha::seal_append(
            &self.file_key,
            &nonce(counter, last),
            &self.aad(counter, last),
            plain,
            &mut sealed,
        );
        sealed
    }

    fn open(&self, counter: u64, last: bool, sealed: &[u8]) -> Result<Vec<u8>> {
        xchacha::open(
            &self.file_key,
            &nonce(counter, last),
            &self.aad(counter, last),
            sealed,
        )
        .map_err(|_| VaultError::BackupRejected)
    }

    fn aad(&self, counter: u64, last: bool) -> Vec<u8> {
        let mut aad = Vec::with_capacity(HEADER_LEN + 9);
        aad.extend_from_slice(&self.header);
        aad.extend_from_slice(&counter.to_be_bytes());
        aad.push(u8::from(last));
        aad
    }
}

/// 15 zero bytes, the chunk number, the last-chunk flag: unique per chunk
/// because the key is unique per file.
fn nonce(counter: u64, last: bool) -> [u8; NONCE_LEN] {
    let mut bytes = [0u8; NONCE_LEN];
    bytes[15..23].copy_from_slice(&counter.to_be_bytes());
    bytes[23] = u8::from(last);
    bytes
}

fn encode_header(header: BackupHeader, salt: &[u8; SALT_LEN]) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8] = VERSION;
    out[9] = header.source.to_byte();
    out[10..18].copy_from_slice(&header.created_at.to_be_bytes());
    out[18..].copy_from_slice(salt);
    out
}

fn decode_header(bytes: &[u8; HEADER_LEN]) -> Result<BackupHeader> {
    if &bytes[..8] != MAGIC {
        return Err(VaultError::NotABackup);
    }
    if bytes[8] != VERSION {
        return Err(VaultError::UnsupportedVersion(bytes[8]));
    }
    let mut created = [0u8; 8];
    created.copy_from_slice(&bytes[10..18]);
    Ok(BackupHeader {
        source: BackupSource::from_byte(bytes[9])?,
        created_at: i64::from_be_bytes(created),
    })
}

fn read_header_bytes(input: &mut impl Read) -> Result<[u8; HEADER_LEN]> {
    let bytes = read_up_to(input, HEADER_LEN)?;
    bytes.try_into().map_err(|_| VaultError::NotABackup)
}

/// Reads until `len` bytes or the end of `input`, whichever comes first.
fn read_up_to(input: &mut impl Read, len: usize) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    input
        .take(len as u64)
        .read_to_end(&mut buf)
        .map_err(VaultError::BackupIo)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: BackupHeader = BackupHeader {
        source: BackupSource::Sqlite,
        created_at: 1_780_000_000,
    };

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn sealed(key: &BackupKey, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encrypt(key, HEADER, plain, &mut out).unwrap();
        out
    }

    fn open(key: &BackupKey, file: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        decrypt(key, file, &mut out).map(|_| out)
    }

    #[test]
    fn a_backup_of_any_length_decrypts_to_what_was_encrypted() {
        let key = BackupKey::generate();
        for len in [0, 1, CHUNK_LEN - 1, CHUNK_LEN, CHUNK_LEN + 1, 3 * CHUNK_LEN] {
            let plain = sample(len);
            let file = sealed(&key, &plain);
            let mut out = Vec::new();
            assert_eq!(decrypt(&key, file.as_slice(), &mut out).unwrap(), HEADER);
            assert_eq!(out, plain, "length {len}");
            assert_eq!(read_header(file.as_slice()).unwrap(), HEADER);
        }
    }

    #[test]
    fn the_plaintext_does_not_appear_in_the_file() {
        let key = BackupKey::generate();
        let plain = b"Ben Okafor <ben@example.com>".repeat(100);
        let file = sealed(&key, &plain);
        assert!(!file.windows(10).any(|w| w == b"Ben Okafor"));
    }

    #[test]
    fn a_truncated_backup_is_refused() {
        let key = BackupKey::generate();
        let file = sealed(&key, &sample(3 * CHUNK_LEN + 10));
        let one_chunk = CHUNK_LEN + TAG_LEN;
        // Mid-chunk, exactly at chunk boundaries, and right after the header.
        for cut in [
            file.len() - 1,
            HEADER_LEN + one_chunk,
            HEADER_LEN + 2 * one_chunk,
            HEADER_LEN + 3 * one_chunk,
            HEADER_LEN + 5,
            HEADER_LEN,
        ] {
            assert!(
                matches!(open(&key, &file[..cut]), Err(VaultError::BackupRejected)),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            open(&key, &file[..HEADER_LEN - 1]),
            Err(VaultError::NotABackup)
        ));
    }

    #[test]
    fn a_backup_with_any_flipped_byte_is_refused() {
        let key = BackupKey::generate();
        let file = sealed(&key, &sample(CHUNK_LEN + 100));
        // Header fields (magic, version and source change the error; the
        // date and salt are authenticated), the first chunk, the last tag.
        for at in [10, 20, HEADER_LEN + 3, file.len() - 1] {
            let mut bad = file.clone();
            bad[at] ^= 0x01;
            assert!(
                matches!(open(&key, &bad), Err(VaultError::BackupRejected)),
                "flip at {at}"
            );
        }
        let mut bad = file.clone();
        bad[0] ^= 0x01;
        assert!(matches!(open(&key, &bad), Err(VaultError::NotABackup)));
    }

    #[test]
    fn a_backup_opened_with_another_key_is_refused() {
        let file = sealed(&BackupKey::generate(), &sample(100));
        assert!(matches!(
            open(&BackupKey::generate(), &file),
            Err(VaultError::BackupRejected)
        ));
    }

    #[test]
    fn reordered_or_repeated_chunks_are_refused() {
        let key = BackupKey::generate();
        let file = sealed(&key, &sample(3 * CHUNK_LEN + 10));
        let one = CHUNK_LEN + TAG_LEN;
        let chunk = |i: usize| &file[HEADER_LEN + i * one..HEADER_LEN + (i + 1) * one];
        let rest = &file[HEADER_LEN + 3 * one..];
        let header = &file[..HEADER_LEN];
        let swapped = [header, chunk(1), chunk(0), chunk(2), rest].concat();
        assert!(matches!(
            open(&key, &swapped),
            Err(VaultError::BackupRejected)
        ));
        let repeated = [header, chunk(0), chunk(0), chunk(1), chunk(2), rest].concat();
        assert!(matches!(
            open(&key, &repeated),
            Err(VaultError::BackupRejected)
        ));
    }

    #[test]
    fn chunks_from_another_backup_with_the_same_key_are_refused() {
        let key = BackupKey::generate();
        let first = sealed(&key, &sample(100));
        let second = sealed(&key, &sample(100));
        let spliced = [&first[..HEADER_LEN], &second[HEADER_LEN..]].concat();
        assert!(matches!(
            open(&key, &spliced),
            Err(VaultError::BackupRejected)
        ));
    }

    #[test]
    fn a_file_that_is_not_a_backup_says_so() {
        let key = BackupKey::generate();
        let text = b"SQLite format 3\0 and then some more bytes than a header has";
        assert!(matches!(open(&key, text), Err(VaultError::NotABackup)));
    }
}
