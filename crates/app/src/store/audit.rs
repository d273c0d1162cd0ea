//! Queries on `audit_log`. The chain arithmetic lives in `crate::audit`; here
//! is only what must happen inside one locked transaction.

use sqlx::FromRow;

use super::{detached, Backend, Store};
use crate::ids::AccountId;

/// The fields of an entry that its hash covers, besides `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditFields<'a> {
    pub at: i64,
    pub actor_kind: &'a str,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub target_kind: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub source: Option<&'a str>,
}

/// A stored entry.
#[derive(Clone, Debug, FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub source: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    pub fn fields(&self) -> AuditFields<'_> {
        AuditFields {
            at: self.at,
            actor_kind: &self.actor_kind,
            actor_id: self.actor_id.as_deref(),
            action: &self.action,
            target_kind: self.target_kind.as_deref(),
            target_id: self.target_id.as_deref(),
            source: self.source.as_deref(),
        }
    }
}

/// The links that tie a new entry to the one before it.
pub struct ChainLink {
    pub prev_hash: String,
    pub hash: String,
}

const COLUMNS: &str =
    "seq, at, actor_kind, actor_id, action, target_kind, target_id, source, prev_hash, hash";

/// `INSERT INTO audit_log` of `rows` rows, numbered `$1`… in `COLUMNS` order.
fn insert_statement(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=10).map(|i| format!("${}", row * 10 + i)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO audit_log ({COLUMNS}) VALUES {}",
        values.join(", ")
    )
}

/// `AuditFields` owned, so an append can run on a task of its own.
#[derive(Clone, Debug)]
pub struct OwnedFields {
    at: i64,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    target_kind: Option<String>,
    target_id: Option<String>,
    source: Option<String>,
}

impl OwnedFields {
    pub fn of(fields: &AuditFields<'_>) -> Self {
        let owned = |s: Option<&str>| s.map(str::to_owned);
        Self {
            at: fields.at,
            actor_kind: fields.actor_kind.to_owned(),
            actor_id: owned(fields.actor_id),
            action: fields.action.to_owned(),
            target_kind: owned(fields.target_kind),
            target_id: owned(fields.target_id),
            source: owned(fields.source),
        }
    }

    pub fn fields(&self) -> AuditFields<'_> {
        AuditFields {
            at: self.at,
            actor_kind: &self.actor_kind,
            actor_id: self.actor_id.as_deref(),
            action: &self.action,
            target_kind: self.target_kind.as_deref(),
            target_id: self.target_id.as_deref(),
            source: self.source.as_deref(),
        }
    }
}

/// Computes an entry's links from its seq, the previous entry's hash
/// (`None` for the first entry) and its fields.
pub trait Seal: Fn(i64, Option<&str>, &AuditFields<'_>) -> ChainLink + Send + 'static {}
impl<F: Fn(i64, Option<&str>, &AuditFields<'_>) -> ChainLink + Send + 'static> Seal for F {}

/// Rows per INSERT statement: 10 parameters each stays far below the
/// parameter limits of both databases.
const ROWS_PER_INSERT: usize = 50;

impl Store {
    /// Appends one entry; see `append_audit_entries`.
    pub async fn append_audit_entry(
        &self,
        fields: &AuditFields<'_>,
        seal: impl Seal,
    ) -> Result<(i64, ChainLink), sqlx::Error> {
        let mut appended = self
            .append_audit_entries(vec![OwnedFields::of(fields)], seal)
            .await?;
        appended.pop().ok_or(sqlx::Error::RowNotFound)
    }

    /// Appends `entries` in order, in one transaction: all or none. `seal`
    /// links each to the one before it. Appends are serialised, so two of
    /// them never read the same last entry and fork the chain. Returns each
    /// new entry's seq and links. The append runs to its end even if the
    /// caller is dropped (see `detached`): a cancelled `BEGIN IMMEDIATE`
    /// once locked SQLite.
    pub async fn append_audit_entries(
        &self,
        entries: Vec<OwnedFields>,
        seal: impl Seal,
    ) -> Result<Vec<(i64, ChainLink)>, sqlx::Error> {
        let store = self.clone();
        detached(self.slots(), async move {
            store.append_locked(entries, seal).await
        })
        .await
    }

    async fn append_locked(
        &self,
        entries: Vec<OwnedFields>,
        seal: impl Seal,
    ) -> Result<Vec<(i64, ChainLink)>, sqlx::Error> {
        // SQLite: one appender at a time in this process, so appends queue here
        // instead of spinning on the database's busy timeout.
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.audit_append.lock().await),
            Backend::Postgres => None,
        };
        let mut tx = match self.backend {
            // IMMEDIATE takes the write lock before the read, so no other
            // process can append between our read and our insert.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                // Conflicts with itself and with inserts, not with plain reads,
                // and is released at commit; safe across several nodes.
                sqlx::query("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (mut seq, mut prev) = match last {
            Some((seq, hash)) => (seq, Some(hash)),
            None => (0, None),
        };
        let mut appended = Vec::with_capacity(entries.len());
        for owned in &entries {
            seq += 1;
            let link = seal(seq, prev.as_deref(), &owned.fields());
            prev = Some(link.hash.clone());
            appended.push((seq, link));
        }
        for (chunk, links) in entries
            .chunks(ROWS_PER_INSERT)
            .zip(appended.chunks(ROWS_PER_INSERT))
        {
            let sql = insert_statement(chunk.len());
            let mut insert = sqlx::query(&sql);
            for (owned, (seq, link)) in chunk.iter().zip(links) {
                let fields = owned.fields();
                insert = insert
                    .bind(*seq)
                    .bind(fields.at)
                    .bind(fields.actor_kind)
                    .bind(fields.actor_id)
                    .bind(fields.action)
                    .bind(fields.target_kind)
                    .bind(fields.target_id)
                    .bind(fields.source)
                    .bind(&link.prev_hash)
                    .bind(&link.hash);
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(appended)
    }

    /// Up to `limit` entries after `after_seq`, in chain order: a page for
    /// walking the whole log without holding it in memory.
    /// The newest entry's (seq, hash).
    pub async fn audit_head(&self) -> Result<Option<(i64, String)>, sqlx::Error> {
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
    }

    /// The hash of entry `seq`, and the highest seq in the log.
    pub async fn audit_hash_and_last(
        &self,
        seq: i64,
    ) -> Result<(Option<String>, Option<i64>), sqlx::Error> {
        let hash = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        let last = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
            .fetch_one(&self.pool)
            .await?;
        Ok((hash, last))
    }

    pub async fn audit_entries_after(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// Every entry where the account acted or was acted on, oldest first.
    pub async fn audit_trail_of(
        &self,
        account_id: &AccountId,
    ) -> Result<Vec<AuditRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE actor_id = $1 OR target_id = $1 ORDER BY seq"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await
    }

    /// The newest entries matching the filters (each filter optional), for
    /// the operators' viewer. `id` matches the actor or the target.
    pub async fn audit_search(
        &self,
        action: Option<&str>,
        actor_kind: Option<&str>,
        id: Option<&str>,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, sqlx::Error> {
        // '' stands for "any": one statement, whichever filters are set.
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE ($1 = '' OR action = $1) AND ($2 = '' OR actor_kind = $2) \
             AND ($3 = '' OR actor_id = $3 OR target_id = $3) AND seq < $4 \
             ORDER BY seq DESC LIMIT $5"
        ))
        .bind(action.unwrap_or(""))
        .bind(actor_kind.unwrap_or(""))
        .bind(id.unwrap_or(""))
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }
}
