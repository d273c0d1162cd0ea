//! Whether a participant's downlink can carry the video it subscribes to.
//! The engine never turns video off by itself: it tells the app, which
//! offers the person audio only. A verdict must hold for a while before it
//! is reported, so a short dip or a probe does not make a banner flicker.

use std::time::{Duration, Instant};

/// How long the estimate must stay too low (or enough again) to report it.
pub(crate) const HOLD: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub(crate) struct DownlinkWatch {
    /// When the current, not yet reported, verdict started.
    since: Option<Instant>,
    /// The last verdict reported: true while the downlink is reported low.
    reported_low: bool,
}

impl DownlinkWatch {
    /// Feeds one verdict (`low`: the estimate is below what the lowest
    /// layers need); returns the new state when it is to be reported.
    pub fn update(&mut self, now: Instant, low: bool) -> Option<bool> {
        if low == self.reported_low {
            self.since = None;
            return None;
        }
        let since = *self.since.get_or_insert(now);
        if now.saturating_duration_since(since) < HOLD {
            return None;
        }
        self.since = None;
        self.reported_low = low;
        Some(low)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_is_reported_once_it_has_held_and_a_dip_is_not() {
        let mut w = DownlinkWatch::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(w.update(at(0), true), None);
        assert_eq!(
            w.update(at(3_000), false),
            None,
            "a 3 s dip is not reported"
        );
        assert_eq!(w.update(at(4_000), true), None);
        assert_eq!(w.update(at(8_750), true), None);
        assert_eq!(w.update(at(9_000), true), Some(true), "low for 5 s");
        assert_eq!(w.update(at(9_250), true), None, "reported once");
        assert_eq!(w.update(at(10_000), false), None);
        assert_eq!(
            w.update(at(15_000), false),
            Some(false),
            "enough again for 5 s"
        );
    }
}
