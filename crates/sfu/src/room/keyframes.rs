//! Keyframe requests to publishers (PLI, or FIR), throttled per source layer.
//!
//! A request that hits the throttle is remembered and sent when the window
//! ends: dropping it would leave that subscriber without a picture until the
//! publisher happens to send a keyframe, which browsers rarely do unasked.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::media::Rid;

use super::Room;
#[cfg(test)]
use crate::ids::PeerKey;
use crate::participant::TrackKey;

/// At most one keyframe request per layer of a source in this time: every
/// subscriber's switch or loss would otherwise flood the publisher.
const KEYFRAME_THROTTLE: Duration = Duration::from_millis(500);

/// The throttle state of one source's layers (`None` = not simulcast).
#[derive(Debug, Default)]
pub(super) struct KeyframeThrottle {
    layers: HashMap<Option<Rid>, Window>,
}

#[derive(Debug)]
struct Window {
    /// When the last request went out to the publisher.
    sent: Instant,
    /// A request arrived since then; it goes out when the window ends.
    deferred: bool,
}

impl KeyframeThrottle {
    /// A subscriber needs a keyframe on `rid`. True: send it now. False: it
    /// is deferred to the window's end, together with any others until then.
    pub fn request(&mut self, now: Instant, rid: Option<Rid>) -> bool {
        match self.layers.get_mut(&rid) {
            Some(w) if now < w.sent + KEYFRAME_THROTTLE => {
                w.deferred = true;
                false
            }
            _ => {
                let sent = now;
                self.layers.insert(
                    rid,
                    Window {
                        sent,
                        deferred: false,
                    },
                );
                true
            }
        }
    }

    /// When the earliest deferred request may go out.
    pub fn deadline(&self) -> Option<Instant> {
        self.layers
            .values()
            .filter(|w| w.deferred)
            .map(|w| w.sent + KEYFRAME_THROTTLE)
            .min()
    }

    /// The layers whose deferred request is due; each counts as sent now.
    pub fn take_due(&mut self, now: Instant) -> Vec<Option<Rid>> {
        let mut due = Vec::new();
        for (rid, w) in &mut self.layers {
            if w.deferred && now >= w.sent + KEYFRAME_THROTTLE {
                *w = Window {
                    sent: now,
                    deferred: false,
                };
                due.push(*rid);
            }
        }
        due
    }
}

impl Room {
    /// Asks the publisher of `tk` for a keyframe on `rid`, now or when the
    /// throttle allows. A source that is gone (publisher left, track stopped)
    /// takes its deferred requests with it.
    pub(super) fn request_keyframe(&mut self, now: Instant, tk: TrackKey, rid: Option<Rid>) {
        let Some(source) = self.sources.get_mut(&tk) else {
            return;
        };
        if !source.keyframes.request(now, rid) {
            return;
        }
        if let Some(publisher) = self.participants.get_mut(&tk.peer) {
            publisher.request_keyframe(now, tk.mid, rid);
        }
    }

    /// Sends the deferred requests whose throttle window has ended. The
    /// publisher's drain leaves its `Rtc` due at once, so the caller's
    /// timeout pass turns them into RTCP right away.
    pub(super) fn send_due_keyframes(&mut self, now: Instant) {
        for (tk, source) in &mut self.sources {
            for rid in source.keyframes.take_due(now) {
                if let Some(publisher) = self.participants.get_mut(&tk.peer) {
                    publisher.request_keyframe(now, tk.mid, rid);
                }
            }
        }
    }

    /// When the earliest deferred keyframe request is due; part of the
    /// room's `poll_timeout` so the worker wakes for it.
    pub(crate) fn keyframe_deadline(&self) -> Option<Instant> {
        self.sources
            .values()
            .filter_map(|s| s.keyframes.deadline())
            .min()
    }

    /// The earliest deferred request for one publisher's tracks.
    #[cfg(test)]
    pub(crate) fn keyframe_deadline_of(&self, publisher: PeerKey) -> Option<Instant> {
        self.sources
            .iter()
            .filter(|(tk, _)| tk.peer == publisher)
            .filter_map(|(_, s)| s.keyframes.deadline())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_in_a_window_are_deferred_and_coalesced() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let q: Option<Rid> = Some("q".into());
        let mut k = KeyframeThrottle::default();
        assert!(k.request(t0, q), "the first goes out at once");
        assert!(k.request(t0, None), "layers are throttled apart");
        assert_eq!(k.deadline(), None);
        assert!(!k.request(t0 + ms(100), q));
        assert!(!k.request(t0 + ms(300), q));
        assert_eq!(k.deadline(), Some(t0 + KEYFRAME_THROTTLE));
        assert!(k.take_due(t0 + ms(499)).is_empty(), "not before the end");
        assert_eq!(k.take_due(t0 + ms(500)), vec![q], "one for both");
        assert_eq!(k.deadline(), None);
        assert!(k.take_due(t0 + ms(2000)).is_empty(), "sent only once");
        // The deferred send opened a new window.
        assert!(!k.request(t0 + ms(900), q));
        assert!(k.request(t0 + ms(2000), None));
    }
}
