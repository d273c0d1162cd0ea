//! Walking the chain from the first entry to the last, a page at a time.

use std::fmt;

use anyhow::Context;

use super::chain::{entry_hash, GENESIS};
use crate::store::Store;

/// Entries read per query: bounded memory however long the log grows.
const PAGE: i64 = 1000;

/// The outcome of a walk along the chain.
#[derive(Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked and found intact (all of them, when `broken` is None).
    pub entries: u64,
    /// The first entry where the chain breaks.
    pub broken: Option<Break>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Break {
    /// The seq of the first broken (or missing) entry.
    pub seq: i64,
    pub problem: Problem,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    /// No row has this seq, but a later one exists: a row was removed.
    Missing { next_seq: i64 },
    /// The row does not point at the hash of the row before it: a row was
    /// removed or inserted before it.
    PrevHashMismatch,
    /// The row's contents do not give its hash: it was altered (or forged).
    HashMismatch,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { next_seq } => write!(
                f,
                "the entry is missing (the next one is {next_seq}): entries were removed"
            ),
            Problem::PrevHashMismatch => f.write_str(
                "its prev_hash is not the hash of the entry before it: an entry was removed or inserted",
            ),
            Problem::HashMismatch => {
                f.write_str("its hash does not match its contents: the entry was altered")
            }
        }
    }
}

/// Walks the whole log in seq order and stops at the first break.
///
/// The chain proves that no entry was changed, removed or inserted before
/// the last one; removing entries from the end shows only as a shorter log.
pub async fn verify(store: &Store) -> anyhow::Result<VerifyReport> {
    let mut entries = 0;
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_owned();
    loop {
        let page = store
            .audit_entries_after(expected_seq - 1, PAGE)
            .await
            .context("while reading the audit log")?;
        let full_page = page.len() as i64 == PAGE;
        for row in &page {
            let problem = if row.seq != expected_seq {
                Some(Problem::Missing { next_seq: row.seq })
            } else if row.prev_hash != prev_hash {
                Some(Problem::PrevHashMismatch)
            } else if entry_hash(&prev_hash, row.seq, &row.fields()) != row.hash {
                Some(Problem::HashMismatch)
            } else {
                None
            };
            if let Some(problem) = problem {
                return Ok(VerifyReport {
                    entries,
                    broken: Some(Break {
                        seq: expected_seq,
                        problem,
                    }),
                });
            }
            entries += 1;
            expected_seq += 1;
            prev_hash.clone_from(&row.hash);
        }
        if !full_page {
            return Ok(VerifyReport {
                entries,
                broken: None,
            });
        }
    }
}
