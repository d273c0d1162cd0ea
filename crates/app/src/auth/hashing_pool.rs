//! Where Argon2 runs. Each run holds 19 MiB; unlimited, a burst of sign-ins
//! took gigabytes, and the allocator kept them (every new thread got its own
//! arena). So hashing runs on a fixed set of threads, one per core, fed by a
//! short queue. A caller who finds the queue full gets `Overloaded` at once
//! (503 with Retry-After), rather than everyone waiting behind a pile-up.
//! Fixed threads (not `spawn_blocking` under a semaphore) also fix which
//! threads ever touch that memory, so at most one block per core stays.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::Overloaded;

/// Waiting runs per core: a sign-in waits at most a few hashes' time.
const QUEUE_PER_CORE: usize = 4;
/// What a refused caller is told to wait, in seconds.
pub const RETRY_AFTER_SECS: u64 = 2;

type Job = Box<dyn FnOnce() + Send>;

fn queue() -> &'static SyncSender<Job> {
    static QUEUE: OnceLock<SyncSender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let (sender, receiver) = sync_channel::<Job>(cores * QUEUE_PER_CORE);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..cores {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hasher-{n}"))
                .spawn(move || work(&receiver));
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a password hasher thread");
            }
        }
        sender
    })
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only to take one job. A poisoned lock (a job
        // panicked while another thread waited) still guards a good receiver.
        let job = match receiver.lock() {
            Ok(guard) => guard.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            Ok(job) => job(),
            // The sender lives in a static: this happens only at exit.
            Err(_) => return,
        }
    }
}

/// Runs `work` on a hasher thread and waits for its result, or refuses
/// with `Overloaded` when the queue is full.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // A caller who hung up while queued no longer needs the answer.
        if !done.is_closed() {
            let _ = done.send(work());
        }
    });
    match queue().try_send(job) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Err(Overloaded::retry_after(RETRY_AFTER_SECS).into());
        }
        Err(TrySendError::Disconnected(_)) => anyhow::bail!("the password hashers have stopped"),
    }
    result
        .await
        .map_err(|_| anyhow::anyhow!("a password hasher stopped while hashing"))?
}
