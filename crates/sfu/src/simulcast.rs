//! Simulcast: measuring each published layer and choosing one per subscriber.
//!
//! The engine forwards packets, so a layer switch needs a keyframe on the new
//! layer, and the subscriber's stream is renumbered across it (`rewrite.rs`).

use std::time::{Duration, Instant};

use str0m::media::Rid;

/// A layer that sent nothing for this long is treated as paused by its
/// publisher (browsers drop top layers when their own uplink is short).
const LAYER_IDLE: Duration = Duration::from_millis(1500);
/// Upgrades wait until the estimate has allowed them this long, so a noisy
/// estimate does not flap between layers.
const UP_DELAY: Duration = Duration::from_secs(2);
/// An upgrade also needs this much headroom over the layer's bitrate.
const UP_HEADROOM: f64 = 1.25;
/// Guesses (bits/s) for layers not yet measured, low to high.
const GUESS_BPS: [u64; 3] = [150_000, 500_000, 1_500_000];
const MEASURE_WINDOW: Duration = Duration::from_millis(500);
/// A switch whose keyframe has not come after this long asks again: the
/// request or the keyframe may have been lost, and the subscriber, still
/// decoding its current layer, has no reason to send a PLI of its own.
const SWITCH_RETRY: Duration = Duration::from_secs(1);

/// Orders a track's RIDs from the lowest to the highest quality.
///
/// Browsers name layers by convention ("q","h","f" or "l","m","h"), but the
/// letter "h" means opposite things in the two schemes; the set decides which.
/// Other names keep the order of the SDP, which the app should list low to high.
pub(crate) fn order_rids(rids: &[Rid]) -> Vec<Rid> {
    let names: Vec<&str> = rids.iter().map(|r| &**r).collect();
    let scheme: &[&str] = if names.contains(&"f") || names.contains(&"q") {
        &["q", "h", "f"]
    } else if names.contains(&"l") || names.contains(&"m") {
        &["l", "m", "h"]
    } else {
        &[]
    };
    let rank = |r: &Rid| scheme.iter().position(|s| *s == &**r).unwrap_or(usize::MAX);
    let mut out = rids.to_vec();
    // Stable sort: unknown names keep their SDP order after the known ones.
    out.sort_by_key(rank);
    out
}

/// Incoming rate and liveness of one layer of a published track.
#[derive(Debug, Default)]
pub(crate) struct LayerStats {
    window_start: Option<Instant>,
    window_bytes: u64,
    bitrate_bps: Option<u64>,
    last_seen: Option<Instant>,
}

impl LayerStats {
    pub fn record(&mut self, now: Instant, bytes: usize) {
        self.last_seen = Some(now);
        let start = *self.window_start.get_or_insert(now);
        self.window_bytes += bytes as u64;
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= MEASURE_WINDOW {
            let bps = self.window_bytes * 8 * 1000 / (elapsed.as_millis().max(1) as u64);
            // Smooth over windows: video bitrates swing with keyframes.
            self.bitrate_bps = Some(match self.bitrate_bps {
                Some(old) => (old * 3 + bps) / 4,
                None => bps,
            });
            self.window_start = Some(now);
            self.window_bytes = 0;
        }
    }

    pub fn active(&self, now: Instant) -> bool {
        self.last_seen
            .is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE)
    }
}

/// The layers of one simulcast track, low to high.
#[derive(Debug)]
pub(crate) struct Layers {
    pub rids: Vec<Rid>,
    pub stats: Vec<LayerStats>,
}

impl Layers {
    pub fn new(rids: &[Rid]) -> Layers {
        let rids = order_rids(rids);
        let stats = rids.iter().map(|_| LayerStats::default()).collect();
        Layers { rids, stats }
    }

    pub fn index_of(&self, rid: Rid) -> Option<usize> {
        self.rids.iter().position(|r| *r == rid)
    }

    /// Measured bitrate, or a guess by position before measurement.
    pub fn bitrate(&self, idx: usize) -> u64 {
        self.stats
            .get(idx)
            .and_then(|s| s.bitrate_bps)
            .unwrap_or_else(|| {
                // Position counted from the top, so a 2-layer track guesses 500k/1.5M.
                let from_top = self.rids.len().saturating_sub(idx + 1);
                GUESS_BPS[GUESS_BPS.len().saturating_sub(from_top + 1)]
            })
    }
}

/// What to do with one incoming packet for one subscriber.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Drop,
    Forward,
    /// Forward, and this packet is the first of a newly selected layer.
    ForwardSwitched,
}

/// Per-subscriber state for one simulcast track: what it gets now (`current`)
/// and what it should get (`target`), switched on the target's next keyframe.
#[derive(Debug, Default)]
pub(crate) struct LayerSelector {
    pub current: Option<usize>,
    pub target: Option<usize>,
    up_since: Option<Instant>,
    /// When a keyframe of `target` was last asked for, while it is awaited.
    asked_at: Option<Instant>,
}

impl LayerSelector {
    /// Re-evaluates the target. Returns the new target when it changed, which
    /// needs a keyframe from the publisher on that layer.
    pub fn choose(
        &mut self,
        now: Instant,
        layers: &Layers,
        budget_bps: u64,
        max_layer: Option<usize>,
    ) -> Option<usize> {
        let top = layers.rids.len().checked_sub(1)?;
        let cap = max_layer.unwrap_or(top).min(top);
        let active: Vec<usize> = (0..=top).filter(|i| layers.stats[*i].active(now)).collect();
        let lowest_active = *active.first()?;
        let best = active
            .iter()
            .copied()
            .filter(|i| *i <= cap && layers.bitrate(*i) <= budget_bps)
            .max()
            .unwrap_or_else(|| lowest_active.min(cap).max(lowest_active));

        let new_target = match self.target {
            // Nothing chosen yet, or the chosen layer stopped: take the best now.
            None => Some(best),
            Some(t) if !active.contains(&t) => Some(best),
            Some(t) if best < t => Some(best),
            Some(t) if best > t => {
                let roomy = layers.bitrate(best) as f64 * UP_HEADROOM <= budget_bps as f64;
                if !roomy {
                    self.up_since = None;
                    None
                } else {
                    let since = *self.up_since.get_or_insert(now);
                    (now.saturating_duration_since(since) >= UP_DELAY).then_some(best)
                }
            }
            Some(_) => {
                self.up_since = None;
                None
            }
        };
        match new_target {
            Some(t) if Some(t) != self.target => {
                self.up_since = None;
                self.target = Some(t);
                // The caller asks for the keyframe now.
                self.asked_at = Some(now);
                Some(t)
            }
            _ => None,
        }
    }

    /// True when the target's keyframe is overdue and should be asked for
    /// again (the room's throttle keeps repeated asks cheap).
    pub fn keyframe_overdue(&mut self, now: Instant) -> bool {
        if self.target.is_none() || self.current == self.target {
            self.asked_at = None;
            return false;
        }
        let asked = *self.asked_at.get_or_insert(now);
        if now.saturating_duration_since(asked) < SWITCH_RETRY {
            return false;
        }
        self.asked_at = Some(now);
        true
    }

    /// Decides on one packet of layer `idx` (`is_keyframe`: it starts a keyframe).
    pub fn accept(&mut self, idx: usize, is_keyframe: bool) -> Verdict {
        if Some(idx) == self.target && self.current != self.target && is_keyframe {
            self.current = self.target;
            self.asked_at = None;
            return Verdict::ForwardSwitched;
        }
        if Some(idx) == self.current {
            Verdict::Forward
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rids(names: &[&str]) -> Vec<Rid> {
        names.iter().map(|n| (*n).into()).collect()
    }

    #[test]
    fn rids_are_ordered_low_to_high_by_naming_scheme() {
        let f = |v: &[&str]| -> Vec<String> {
            order_rids(&rids(v)).iter().map(|r| r.to_string()).collect()
        };
        assert_eq!(f(&["f", "h", "q"]), ["q", "h", "f"]);
        assert_eq!(f(&["h", "l", "m"]), ["l", "m", "h"]);
        assert_eq!(f(&["b", "a"]), ["b", "a"]);
    }

    fn feed(layers: &mut Layers, now: Instant, bytes: [usize; 3]) {
        for (i, b) in bytes.iter().enumerate() {
            layers.stats[i].record(now, *b);
        }
    }

    #[test]
    fn drops_at_once_and_climbs_only_after_a_steady_estimate() {
        let mut layers = Layers::new(&rids(&["q", "h", "f"]));
        let t0 = Instant::now();
        // 30 fps for 2 s: ~100k, ~400k, ~1.2M bit/s.
        for i in 0..60 {
            feed(
                &mut layers,
                t0 + Duration::from_millis(i * 33),
                [400, 1600, 5000],
            );
        }
        let now = t0 + Duration::from_secs(2);
        let mut sel = LayerSelector::default();
        assert_eq!(sel.choose(now, &layers, 5_000_000, None), Some(2));
        assert_eq!(
            sel.choose(now, &layers, 300_000, None),
            Some(0),
            "drops at once"
        );
        assert_eq!(sel.choose(now, &layers, 5_000_000, None), None, "waits");
        let later = now + UP_DELAY;
        feed(&mut layers, later, [400, 1600, 5000]);
        assert_eq!(sel.choose(later, &layers, 5_000_000, None), Some(2));
        assert_eq!(
            sel.choose(later, &layers, 5_000_000, Some(1)),
            Some(1),
            "app cap"
        );
    }

    #[test]
    fn switches_on_the_first_keyframe_of_the_target_layer() {
        let mut sel = LayerSelector {
            current: Some(2),
            target: Some(0),
            ..Default::default()
        };
        assert_eq!(sel.accept(2, false), Verdict::Forward);
        assert_eq!(sel.accept(0, false), Verdict::Drop);
        assert_eq!(sel.accept(0, true), Verdict::ForwardSwitched);
        assert_eq!(sel.accept(2, false), Verdict::Drop);
        assert_eq!(sel.accept(0, false), Verdict::Forward);
    }

    #[test]
    fn an_unanswered_switch_asks_again_until_its_keyframe_comes() {
        let t0 = Instant::now();
        let mut sel = LayerSelector {
            current: Some(2),
            target: Some(0),
            asked_at: Some(t0),
            ..Default::default()
        };
        let ms = Duration::from_millis;
        assert!(!sel.keyframe_overdue(t0 + ms(999)));
        assert!(sel.keyframe_overdue(t0 + SWITCH_RETRY), "asks again");
        assert!(!sel.keyframe_overdue(t0 + ms(1500)), "not every tick");
        assert!(sel.keyframe_overdue(t0 + ms(2000)), "and again");
        assert_eq!(sel.accept(0, true), Verdict::ForwardSwitched);
        assert!(
            !sel.keyframe_overdue(t0 + ms(5000)),
            "switched: nothing owed"
        );
    }
}
