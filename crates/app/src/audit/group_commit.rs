//! Group commit: the entries that requests ask for while one batch is being
//! written go together into the next, in one transaction, and the anchor is
//! moved once per batch. A busy server thus pays one commit (and one key
//! store write) for many requests instead of one each, and a quiet one waits
//! for nobody: a batch starts as soon as the writer is free.
//!
//! A request is answered only after its entry is committed and anchored.
//! A batch that fails fails every request in it, and one whose task
//! panicked answers 503: nothing is skipped silently.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::keys::KeyStore;
use crate::store::{AuditFields, OwnedFields, Store};

/// Entries written in one transaction at most.
const MAX_BATCH: usize = 256;
/// Requests that may wait for the writer; beyond that, senders wait too.
const QUEUE: usize = 4096;

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The batch reached the database and failed there.
    #[error("the audit batch failed: {0}")]
    Failed(Arc<anyhow::Error>),
    /// The writer is gone (shut down, or its batch task panicked).
    #[error("the audit writer is not running")]
    Unavailable,
}

struct Pending {
    fields: OwnedFields,
    done: oneshot::Sender<Result<(i64, String), Arc<anyhow::Error>>>,
}

/// Hands entries to the writer task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Starts the writer on the current runtime. It stops when the last
    /// `GroupCommit` is dropped, after writing what was already queued.
    pub fn start(store: Store, keys: KeyStore) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, keys, rx));
        Self { queue }
    }

    /// Appends `fields` and moves the anchor to it (or past it); returns once
    /// both are committed, with the entry's seq and hash.
    pub async fn append(&self, fields: &AuditFields<'_>) -> Result<(i64, String), AppendError> {
        let (done, answer) = oneshot::channel();
        let pending = Pending {
            fields: OwnedFields::of(fields),
            done,
        };
        self.queue
            .send(pending)
            .await
            .map_err(|_| AppendError::Unavailable)?;
        match answer.await {
            Ok(Ok(appended)) => Ok(appended),
            Ok(Err(err)) => Err(AppendError::Failed(err)),
            // The batch's task ended without answering: it panicked.
            Err(_) => Err(AppendError::Unavailable),
        }
    }
}

async fn write_batches(store: Store, keys: KeyStore, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (fields, waiters): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|p| (p.fields, p.done)).unzip();
        // On a task of its own, so a panic fails this batch (its senders are
        // dropped, which answers `Unavailable`) and the next one still runs.
        let written = tokio::spawn(commit(store.clone(), keys.clone(), fields)).await;
        match written {
            Ok(Ok(appended)) => {
                for (done, entry) in waiters.into_iter().zip(appended) {
                    // The request may have gone; its entry is written anyway.
                    let _ = done.send(Ok(entry));
                }
            }
            Ok(Err(err)) => {
                tracing::error!(
                    error = format!("{err:#}"),
                    entries = waiters.len(),
                    "an audit batch failed"
                );
                let err = Arc::new(err);
                for done in waiters {
                    let _ = done.send(Err(Arc::clone(&err)));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, entries = waiters.len(), "an audit batch's task died");
            }
        }
    }
}

/// Writes the entries in one transaction, then anchors the last of them.
async fn commit(
    store: Store,
    keys: KeyStore,
    fields: Vec<OwnedFields>,
) -> anyhow::Result<Vec<(i64, String)>> {
    // Anchored at the newest entry's own time, as a single append would be.
    let at = fields.last().map(|f| f.fields().at);
    let appended = super::append_all(&store, fields).await?;
    if let (Some((seq, hash)), Some(at)) = (appended.last(), at) {
        super::anchor::advance(&keys, *seq, hash, at).await?;
    }
    Ok(appended)
}
