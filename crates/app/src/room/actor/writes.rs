//! Writes a room makes for the record (audit entries, kept admissions) that
//! nobody in the room waits for. They run in order on a task of their own:
//! the actor reads one input at a time, so a commit awaited inline held the
//! engine's offer to a newly admitted client back by the length of an fsync.
//! When the actor stops, what is queued still runs.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::{mpsc, oneshot};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

pub(super) struct Writes {
    queue: mpsc::UnboundedSender<Job>,
}

impl Writes {
    pub(super) fn start() -> Self {
        let (queue, mut jobs) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(job) = jobs.recv().await {
                job.await;
            }
        });
        Self { queue }
    }

    /// Runs `job` after every write queued before it.
    pub(super) fn later(&self, job: impl Future<Output = ()> + Send + 'static) {
        // The task ends only once this sender is gone, so the send succeeds.
        let _ = self.queue.send(Box::pin(job));
    }

    /// Waits until every write queued so far is done, for a step whose own
    /// record must come after them (the session's end).
    pub(super) async fn flush(&self) {
        let (done, finished) = oneshot::channel();
        self.later(async move {
            let _ = done.send(());
        });
        let _ = finished.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[tokio::test]
    async fn writes_run_in_order_and_flush_waits_for_them() {
        let writes = Writes::start();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for (n, pause) in [(1, 30), (2, 0), (3, 10)] {
            let seen = seen.clone();
            writes.later(async move {
                tokio::time::sleep(Duration::from_millis(pause)).await;
                seen.lock().unwrap().push(n);
            });
        }
        writes.flush().await;
        assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn queued_writes_outlive_the_room() {
        let writes = Writes::start();
        let (done, finished) = oneshot::channel();
        writes.later(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = done.send(());
        });
        drop(writes);
        assert!(finished.await.is_ok());
    }
}
