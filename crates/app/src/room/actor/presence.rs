//! Room time that is not the wall clock: how long someone whose socket
//! dropped keeps their place, and how long a room with nobody in it lives.
//! Monotonic `tokio::time::Instant`, so tests can pause and advance it (the
//! scheduled end, wall-clock time from the database, is `clock.rs`'s).

use std::time::Duration;

use tokio::time::Instant;

/// A participant whose socket dropped keeps their place this long: a fresh
/// socket within it returns to the room without waiting for admission.
pub const RECONNECT_GRACE: Duration = Duration::from_secs(60);
/// A room with nobody in it stops after this long.
pub(super) const IDLE_STOP: Duration = Duration::from_secs(120);

/// Whether someone gone since `since` has used up the grace by `now`.
pub(super) fn grace_over(since: Instant, now: Instant) -> bool {
    now.saturating_duration_since(since) >= RECONNECT_GRACE
}

/// How long the room has been empty.
pub(super) struct Idle {
    since: Option<Instant>,
}

impl Idle {
    /// A new room counts as empty from the start: a room opened by a socket
    /// that never says hello still stops.
    pub fn starting(now: Instant) -> Idle {
        Idle { since: Some(now) }
    }

    /// Someone is here (a socket opened): the count starts again.
    pub fn busy(&mut self) {
        self.since = None;
    }

    /// Called on every tick; true once the room has been empty for
    /// `IDLE_STOP` without a break.
    pub fn stop_now(&mut self, empty: bool, now: Instant) -> bool {
        if !empty {
            self.busy();
            return false;
        }
        let since = *self.since.get_or_insert(now);
        now.saturating_duration_since(since) >= IDLE_STOP
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    #[tokio::test(start_paused = true)]
    async fn a_dropped_participant_keeps_their_place_for_a_minute() {
        let gone = Instant::now();
        advance(Duration::from_secs(59)).await;
        assert!(!grace_over(gone, Instant::now()), "back within 60 s");
        advance(Duration::from_secs(1)).await;
        assert!(grace_over(gone, Instant::now()), "gone after 60 s");
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_room_stops_after_two_minutes_and_anyone_coming_resets_it() {
        let mut idle = Idle::starting(Instant::now());
        advance(Duration::from_secs(119)).await;
        assert!(!idle.stop_now(true, Instant::now()));
        // Someone comes and goes: the count starts again.
        assert!(!idle.stop_now(false, Instant::now()));
        advance(Duration::from_secs(2)).await;
        assert!(!idle.stop_now(true, Instant::now()));
        advance(Duration::from_secs(119)).await;
        assert!(!idle.stop_now(true, Instant::now()));
        advance(Duration::from_secs(1)).await;
        assert!(idle.stop_now(true, Instant::now()), "empty for 120 s");
    }
}
