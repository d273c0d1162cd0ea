//! Active speaker detection from RFC 6464 audio levels.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::ids::ParticipantId;

/// Loudness (0 = silence … 127 = 0 dBov) above which a participant counts as
/// speaking. Speech sits around -20…-45 dBov, room noise well below -50.
const SPEAKING: f64 = 127.0 - 50.0;
/// A newcomer must be this much louder than the current speaker to take over,
/// so two people talking at once do not make the highlight flicker.
const MARGIN: f64 = 6.0;
/// The highlight moves at most this often.
const MIN_HOLD: Duration = Duration::from_millis(1000);
/// Levels older than this no longer count (muted or stopped sending).
const STALE: Duration = Duration::from_millis(1000);

#[derive(Debug)]
struct Level {
    smoothed: f64,
    updated: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct SpeakerDetector {
    levels: HashMap<ParticipantId, Level>,
    current: Option<ParticipantId>,
    changed_at: Option<Instant>,
}

impl SpeakerDetector {
    /// Records one audio frame's level as str0m reports it (-127..=0 dBov).
    pub fn record(&mut self, now: Instant, who: &ParticipantId, level_dbov: i8) {
        let loudness = 127.0 + f64::from(level_dbov.clamp(-127, 0));
        match self.levels.get_mut(who) {
            // ~20 ms frames: a 0.9 factor averages over a few hundred ms.
            Some(l) => {
                l.smoothed = l.smoothed * 0.9 + loudness * 0.1;
                l.updated = now;
            }
            None => {
                self.levels.insert(
                    who.clone(),
                    Level {
                        smoothed: loudness,
                        updated: now,
                    },
                );
            }
        }
    }

    pub fn forget(&mut self, who: &ParticipantId) {
        self.levels.remove(who);
    }

    fn loudness(&self, now: Instant, who: &ParticipantId) -> f64 {
        self.levels
            .get(who)
            .filter(|l| now.saturating_duration_since(l.updated) < STALE)
            .map_or(0.0, |l| l.smoothed)
    }

    /// Returns the new active speaker when it changed.
    pub fn evaluate(&mut self, now: Instant) -> Option<Option<ParticipantId>> {
        if self
            .changed_at
            .is_some_and(|t| now.saturating_duration_since(t) < MIN_HOLD)
        {
            return None;
        }
        let loudest = self
            .levels
            .keys()
            .map(|p| (p, self.loudness(now, p)))
            .filter(|(_, l)| *l >= SPEAKING)
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)));
        let next = match (&self.current, loudest) {
            (_, None) => None,
            (Some(cur), Some((p, l))) if p != cur => {
                let cur_l = self.loudness(now, cur);
                if cur_l < SPEAKING || l > cur_l + MARGIN {
                    Some(p.clone())
                } else {
                    Some(cur.clone())
                }
            }
            (_, Some((p, _))) => Some(p.clone()),
        };
        if next == self.current {
            return None;
        }
        // Silence keeps the last speaker highlighted until someone else talks;
        // only a departure clears it (see `forget`).
        if next.is_none()
            && self
                .current
                .as_ref()
                .is_some_and(|c| self.levels.contains_key(c))
        {
            return None;
        }
        self.current.clone_from(&next);
        self.changed_at = Some(now);
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_louder_talker_becomes_active_and_silence_keeps_them() {
        let mut d = SpeakerDetector::default();
        let (a, b) = (ParticipantId::from("a"), ParticipantId::from("b"));
        let t0 = Instant::now();
        for i in 0..50 {
            let t = t0 + Duration::from_millis(i * 20);
            d.record(t, &a, -30);
            d.record(t, &b, -90);
        }
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(d.evaluate(t1), Some(Some(a.clone())));
        for i in 0..100 {
            let t = t1 + Duration::from_millis(i * 20);
            d.record(t, &a, -100);
            d.record(t, &b, -25);
        }
        let t2 = t1 + Duration::from_secs(2);
        assert_eq!(d.evaluate(t2), Some(Some(b.clone())));
        assert_eq!(
            d.evaluate(t2 + Duration::from_secs(5)),
            None,
            "silence keeps b"
        );
        d.forget(&b);
        assert_eq!(d.evaluate(t2 + Duration::from_secs(6)), Some(None));
    }
}
