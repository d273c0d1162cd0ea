//! Draining: on SIGTERM (or Ctrl-C), or when `regroup node drain` asks, the
//! node stops taking new rooms, lets the open ones run to their end, and
//! only then stops serving. A second signal stops it at once.

use std::future::Future;
use std::time::Duration;

use super::beat_once;
use crate::state::AppState;

/// Resolves when the server should stop serving: after a signal or a drain
/// request, once every room on this node has ended or `timeout` has passed.
pub async fn stop_after_drain<S, F>(state: AppState, signal: S, timeout: Duration)
where
    S: Fn() -> F,
    F: Future<Output = ()>,
{
    tokio::select! {
        () = signal() => state.node.start_draining(),
        () = state.node.draining_started() => {}
    }
    // Tell the other nodes now rather than at the next beat.
    beat_once(&state).await;
    let waiting = async {
        while state.rooms.live() > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    tokio::select! {
        () = waiting => tracing::info!("drained: every room has ended"),
        () = tokio::time::sleep(timeout) => tracing::warn!(
            rooms = state.rooms.live(),
            "drain time is up; closing the rooms still open"
        ),
        () = signal() => tracing::warn!(
            rooms = state.rooms.live(),
            "asked again to stop; closing the rooms still open"
        ),
    }
}
