//! This server as one node among several that share a database: its id, the
//! URL browsers reach it at, its heartbeat (`heartbeat.rs`) and draining
//! (`drain.rs`). A single server is simply a cluster of one.

mod drain;
mod heartbeat;
pub mod placement;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use url::Url;

pub use drain::stop_after_drain;
pub use heartbeat::{beat_forever, beat_once};

/// How a node names and paces itself (`--node-id`, `--node-url`, ...).
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// `None`: a fresh id each start (fine for one node; give several nodes
    /// stable ids so `regroup node drain ID` can name them).
    pub id: Option<String>,
    /// `None`: the public URL.
    pub url: Option<Url>,
    /// How often the node writes its row.
    pub beat_every: Duration,
    /// How long a draining node waits for its rooms to end before it stops.
    pub drain_timeout: Duration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            id: None,
            url: None,
            beat_every: Duration::from_secs(2),
            drain_timeout: Duration::from_secs(2 * 3600),
        }
    }
}

/// This node, shared by every handler.
#[derive(Debug)]
pub struct Node {
    pub id: String,
    pub url: Url,
    /// Tells this run of the node from an earlier one with the same id.
    pub started_at: i64,
    draining: AtomicBool,
    drain_started: Notify,
}

impl Node {
    pub fn new(id: String, url: Url, started_at: i64) -> Self {
        Self {
            id,
            url,
            started_at,
            draining: AtomicBool::new(false),
            drain_started: Notify::new(),
        }
    }

    /// A draining node takes no new room and is not ready for new traffic.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn start_draining(&self) {
        if !self.draining.swap(true, Ordering::SeqCst) {
            tracing::info!(node = %self.id, "draining: no new rooms; stopping once the open ones end");
            self.drain_started.notify_waiters();
        }
    }

    /// Resolves once draining has started.
    pub async fn draining_started(&self) {
        loop {
            let started = self.drain_started.notified();
            if self.is_draining() {
                return;
            }
            started.await;
        }
    }
}

/// A node id given on the command line: short, and safe in logs and URLs.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_short_and_plain() {
        assert!(valid_id("node-1"));
        assert!(valid_id("eu.west_2"));
        assert!(!valid_id(""));
        assert!(!valid_id("a b"));
        assert!(!valid_id("a/b"));
        assert!(!valid_id(&"x".repeat(65)));
    }

    #[tokio::test]
    async fn waiting_for_a_drain_wakes_when_it_starts() {
        let node = std::sync::Arc::new(Node::new(
            "n".into(),
            Url::parse("http://127.0.0.1:1/").unwrap(),
            0,
        ));
        let waiter = tokio::spawn({
            let node = node.clone();
            async move { node.draining_started().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        node.start_draining();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("woken")
            .unwrap();
        // Already draining: returns at once.
        node.draining_started().await;
    }
}
