//! Keyframe requests to publishers (PLI, or FIR), throttled per source layer.
//!
//! A request is outstanding from when it is sent until a keyframe of that
//! layer arrives: more requests meanwhile would only ask for the same
//! keyframe again, and are held. Once the keyframe is in, a new need (a
//! subscriber who arrived just after it) is asked for at once instead of
//! waiting out the window. A request held while one is outstanding is served
//! by the keyframe that answers it; if none comes, it goes out when the
//! window ends: dropping it would leave that subscriber without a picture
//! until the publisher happens to send a keyframe, which browsers rarely do
//! unasked.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::media::Rid;

use super::Room;
#[cfg(test)]
use crate::ids::PeerKey;
use crate::participant::TrackKey;

/// How long a request stays outstanding when no keyframe answers it; also
/// the most often a publisher is asked while its keyframes do not arrive.
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
    /// A keyframe of this layer arrived since then.
    answered: bool,
    /// A request arrived while the last one was outstanding; it goes out
    /// when the window ends unless a keyframe answers first.
    deferred: bool,
}

impl Window {
    fn new(sent: Instant) -> Self {
        Self {
            sent,
            answered: false,
            deferred: false,
        }
    }
}

impl KeyframeThrottle {
    /// A subscriber needs a keyframe on `rid`. True: send it now. False: one
    /// is outstanding; this one waits for it (or for the window's end).
    pub fn request(&mut self, now: Instant, rid: Option<Rid>) -> bool {
        match self.layers.get_mut(&rid) {
            Some(w) if !w.answered && now < w.sent + KEYFRAME_THROTTLE => {
                w.deferred = true;
                false
            }
            _ => {
                self.layers.insert(rid, Window::new(now));
                true
            }
        }
    }

    /// A keyframe of `rid` arrived: it answers the outstanding request and
    /// every one held behind it.
    pub fn keyframe_arrived(&mut self, rid: Option<Rid>) {
        if let Some(w) = self.layers.get_mut(&rid) {
            w.answered = true;
            w.deferred = false;
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
                *w = Window::new(now);
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

    #[test]
    fn once_the_keyframe_is_in_a_new_request_goes_at_once() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let h: Option<Rid> = Some("h".into());
        let mut k = KeyframeThrottle::default();
        assert!(k.request(t0, h));
        assert!(!k.request(t0 + ms(20), h), "held while outstanding");
        k.keyframe_arrived(h);
        assert_eq!(k.deadline(), None, "the keyframe served the held one");
        assert!(k.request(t0 + ms(60), h), "a new need, after the keyframe");
        assert!(!k.request(t0 + ms(70), h), "outstanding again");
        // A keyframe of another layer answers nothing here.
        k.keyframe_arrived(None);
        assert!(!k.request(t0 + ms(80), h));
        assert_eq!(k.take_due(t0 + ms(560)), vec![h]);
    }
}
