//! The chain's head, copied outside the main database into the key store
//! (keys.db, or the `keystore` schema), which is kept and backed up apart.
//! The chain alone cannot show that its newest entries were cut off, nor a
//! rewrite by someone who can write the main database and recomputes every
//! hash after the entry they changed. With the anchor both show: the
//! anchored entry must still be there, with the hash it had.

use std::fmt;

use anyhow::Context;

use crate::keys::KeyStore;
use crate::store::Store;

/// What the anchor says about the log.
#[derive(Debug, PartialEq, Eq)]
pub enum AnchorCheck {
    /// Nothing was anchored yet (a new log, or one written only by tools).
    NotAnchored,
    /// The anchored entry is there, unchanged.
    Holds { seq: i64 },
    /// The log ends before the anchored entry: its end was cut off.
    Truncated { anchored: i64, last: Option<i64> },
    /// The anchored entry has another hash: the log was rewritten.
    Rewritten { seq: i64 },
}

impl AnchorCheck {
    pub fn holds(&self) -> bool {
        matches!(self, AnchorCheck::NotAnchored | AnchorCheck::Holds { .. })
    }
}

impl fmt::Display for AnchorCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnchorCheck::NotAnchored => f.write_str("no entry anchored yet"),
            AnchorCheck::Holds { seq } => write!(f, "entry {seq} matches the anchor"),
            AnchorCheck::Truncated { anchored, last } => write!(
                f,
                "entry {anchored} was anchored but the log ends at {}: its newest entries were removed",
                last.map_or_else(|| "nothing".to_owned(), |l| l.to_string())
            ),
            AnchorCheck::Rewritten { seq } => write!(
                f,
                "entry {seq} no longer has the anchored hash: the log was rewritten"
            ),
        }
    }
}

/// Records that entry `seq` with `hash` is in the log.
pub async fn advance(keys: &KeyStore, seq: i64, hash: &str, at: i64) -> anyhow::Result<()> {
    keys.set_audit_anchor(seq, hash, at)
        .await
        .context("while anchoring the audit log")
}

/// Compares the log with its anchor.
pub async fn check(store: &Store, keys: &KeyStore) -> anyhow::Result<AnchorCheck> {
    let Some((seq, anchored_hash)) = keys
        .audit_anchor()
        .await
        .context("while reading the audit anchor")?
    else {
        return Ok(AnchorCheck::NotAnchored);
    };
    let (hash, last) = store
        .audit_hash_and_last(seq)
        .await
        .context("while reading the anchored audit entry")?;
    Ok(match hash {
        Some(hash) if hash == anchored_hash => AnchorCheck::Holds { seq },
        Some(_) => AnchorCheck::Rewritten { seq },
        None => AnchorCheck::Truncated {
            anchored: seq,
            last,
        },
    })
}
