//! Every few seconds a node writes its row in `nodes`: it is alive, how busy
//! it is, and whether it drains. The answer tells it whether someone asked it
//! to drain (`regroup node drain`). The same beat renews its room leases.

use std::time::Duration;

use crate::state::AppState;
use crate::store::Beat;

pub async fn beat_forever(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        beat_once(&state).await;
    }
}

/// One beat. A failed write is logged and tried again on the next beat:
/// other nodes count this one dead only after several missed beats.
pub async fn beat_once(state: &AppState) {
    let node = &state.node;
    let (rooms, participants) = state.rooms.census();
    let beat = Beat {
        id: &node.id,
        url: node.url.as_str(),
        started_at: node.started_at,
        now: state.clock.unix(),
        draining: node.is_draining(),
        rooms,
        participants,
    };
    match state.store.node_beat(&beat).await {
        Ok(true) => node.start_draining(),
        Ok(false) => {}
        Err(err) => tracing::warn!(error = %err, "could not write this node's heartbeat"),
    }
    if let Err(err) = state.store.renew_rooms(&node.id, beat.now).await {
        tracing::warn!(error = %err, "could not renew this node's room leases");
    }
}
