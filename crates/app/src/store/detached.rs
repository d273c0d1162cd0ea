//! Database work that must finish even when the request that asked for it is
//! dropped. A client that hangs up makes axum drop the handler's future at
//! whatever `.await` it had reached. Dropped inside `pool.begin()`, sqlx may
//! already have sent `BEGIN` (SQLite: `BEGIN IMMEDIATE`, which holds the write
//! lock) without handing out a `Transaction` that would roll back: the
//! connection then goes back to the pool inside a transaction, and every
//! writer after it waits for a lock that is never released. Running each
//! transaction on its own task means it always reaches commit or rollback.
//!
//! A slot is taken first, while the caller can still be dropped: work that
//! outlives its request is bounded by the slots, so a storm of dropped
//! requests cannot leave a queue of orphaned writes that delays everyone
//! after it (12 s of them once left a second of writes to finish).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

/// Waits for one of `slots`, then runs `work` on a task of its own and
/// waits for it. If the caller is dropped before a slot is free, nothing
/// runs; once `work` has started, it runs to its end.
pub(crate) async fn detached<T, F>(slots: &Arc<Semaphore>, work: F) -> Result<T, sqlx::Error>
where
    F: Future<Output = Result<T, sqlx::Error>> + Send + 'static,
    T: Send + 'static,
{
    // The semaphore is never closed, so acquiring only waits.
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| sqlx::Error::PoolClosed)?;
    let task = tokio::spawn(async move {
        let _slot = slot;
        work.await
    });
    match task.await {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        // Cancelled: only when the runtime shuts down under it.
        Err(_) => Err(sqlx::Error::WorkerCrashed),
    }
}

/// Pool hook: a connection that is still inside a transaction is closed
/// (which rolls it back) instead of being used again. The tasks above should
/// make this impossible; this keeps one slip from locking the database.
pub(crate) fn outside_transaction(conn: &sqlx::AnyConnection) -> bool {
    use sqlx::Connection;
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("a pooled connection was left inside a transaction; closing it");
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_goes_on_after_its_caller_is_dropped() {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let slots = Arc::new(Semaphore::new(1));
        let caller = detached(&slots, async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let _ = done_tx.send(());
            Ok(())
        });
        // Poll the caller once (which spawns the task), then drop it.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(1), caller).await;
        tokio::time::timeout(std::time::Duration::from_secs(1), done_rx)
            .await
            .expect("the work finished")
            .expect("the work sent its signal");
    }
}
