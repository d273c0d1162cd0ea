//! What one synthetic participant counts: the traffic between it and the
//! engine, and the media it got out of that traffic.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::media::LAYERS;
use crate::stamp::Stamp;

/// Frame (or datagram) kinds a publisher numbers on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stream {
    Audio,
    Video,
    /// The relay's peers number all their datagrams in one sequence.
    Datagram,
}

/// Frames received from one publisher.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FromPublisher {
    pub audio: u64,
    pub video: u64,
}

/// Running totals; a window's figures are the difference of two snapshots.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// UDP datagrams (media, RTCP, STUN, DTLS) the engine sent this peer.
    pub datagrams_in: u64,
    pub bytes_in: u64,
    /// UDP datagrams this peer sent the engine.
    pub datagrams_out: u64,
    pub bytes_out: u64,
    /// Depacketized frames received, by publisher (the forwarded stream's msid).
    pub frames_from: BTreeMap<String, FromPublisher>,
    /// Camera frames received, by simulcast layer index.
    pub frames_by_layer: [u64; LAYERS.len()],
    /// Keyframe requests (PLI/FIR) the engine sent this peer as a publisher.
    pub keyframe_requests: u64,
    pub keyframes_sent: u64,
    /// Why the peer stopped early, if it did.
    pub error: Option<String>,
    /// Stamped frames (datagrams for the relay) the publishers' sequence
    /// numbers say were sent to this peer, and how many arrived: loss is the
    /// difference. A gap counts once the next one arrives.
    pub expected: u64,
    pub received: u64,
    /// One-way delay of each stamped arrival, in microseconds.
    pub delays_us: Vec<u32>,
    /// The same for audio frames alone: one packet each, so no waiting for
    /// a frame's last packet.
    pub audio_delays_us: Vec<u32>,
    /// Highest sequence number seen per publisher and stream.
    pub(crate) highest: BTreeMap<(u8, Stream), u32>,
}

/// Name of the peer with this index, as everyone calls it (`p01`…).
pub fn peer_name(index: usize) -> String {
    format!("p{:02}", index + 1)
}

impl Counters {
    /// Counts one stamped arrival on `stream` at `now`.
    pub fn arrival(&mut self, stream: Stream, stamp: Stamp, now: Instant) {
        let key = (stamp.publisher, stream);
        match self.highest.get(&key).copied() {
            None => self.expected += 1,
            Some(h) if stamp.seq > h => self.expected += u64::from(stamp.seq - h),
            // Late or repeated: it arrived, but was already expected.
            Some(_) => {}
        }
        if self.highest.get(&key).is_none_or(|h| stamp.seq > *h) {
            self.highest.insert(key, stamp.seq);
        }
        self.received += 1;
        let delay = stamp.delay(now).as_micros().min(u32::MAX as u128) as u32;
        self.delays_us.push(delay);
        if stream == Stream::Audio {
            self.audio_delays_us.push(delay);
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Counters) -> Counters {
        let frames_from = self
            .frames_from
            .iter()
            .map(|(who, now)| {
                let then = earlier.frames_from.get(who).copied().unwrap_or_default();
                let diff = FromPublisher {
                    audio: now.audio - then.audio,
                    video: now.video - then.video,
                };
                (who.clone(), diff)
            })
            .collect();
        let mut frames_by_layer = self.frames_by_layer;
        for (now, then) in frames_by_layer.iter_mut().zip(earlier.frames_by_layer) {
            *now -= then;
        }
        Counters {
            datagrams_in: self.datagrams_in - earlier.datagrams_in,
            bytes_in: self.bytes_in - earlier.bytes_in,
            datagrams_out: self.datagrams_out - earlier.datagrams_out,
            bytes_out: self.bytes_out - earlier.bytes_out,
            frames_from,
            frames_by_layer,
            keyframe_requests: self.keyframe_requests - earlier.keyframe_requests,
            keyframes_sent: self.keyframes_sent - earlier.keyframes_sent,
            error: self.error.clone(),
            expected: self.expected - earlier.expected,
            received: self.received - earlier.received,
            delays_us: self.delays_us[earlier.delays_us.len().min(self.delays_us.len())..].to_vec(),
            audio_delays_us: self.audio_delays_us[earlier
                .audio_delays_us
                .len()
                .min(self.audio_delays_us.len())..]
                .to_vec(),
            highest: self.highest.clone(),
        }
    }

    /// Publishers from whom at least one audio frame arrived.
    pub fn audio_publishers(&self) -> usize {
        self.frames_from.values().filter(|f| f.audio > 0).count()
    }

    /// Publishers from whom at least one camera frame arrived.
    pub fn video_publishers(&self) -> usize {
        self.frames_from.values().filter(|f| f.video > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::epoch;
    use std::time::Duration;

    fn stamp(publisher: u8, seq: u32) -> Stamp {
        Stamp::new(publisher, seq, epoch())
    }

    #[test]
    fn gaps_count_as_expected_but_not_received() {
        let now = epoch() + Duration::from_millis(2);
        let mut c = Counters::default();
        for seq in [5, 6, 9, 10] {
            c.arrival(Stream::Audio, stamp(1, seq), now);
        }
        // Another publisher and another stream have sequences of their own.
        c.arrival(Stream::Video, stamp(1, 100), now);
        c.arrival(Stream::Audio, stamp(2, 1), now);
        assert_eq!((c.expected, c.received), (6 + 1 + 1, 6));
        assert_eq!(c.delays_us, vec![2000; 6]);
        assert_eq!(c.audio_delays_us, vec![2000; 5]);
    }

    #[test]
    fn a_late_arrival_is_received_without_being_expected_twice() {
        let now = epoch();
        let mut c = Counters::default();
        for seq in [1, 3, 2] {
            c.arrival(Stream::Datagram, stamp(0, seq), now);
        }
        assert_eq!((c.expected, c.received), (3, 3));
    }

    #[test]
    fn a_window_holds_only_what_arrived_inside_it() {
        let now = epoch();
        let mut c = Counters::default();
        c.arrival(Stream::Audio, stamp(0, 1), now);
        let start = c.clone();
        c.arrival(Stream::Audio, stamp(0, 4), now + Duration::from_millis(1));
        let w = c.since(&start);
        assert_eq!((w.expected, w.received), (3, 1));
        assert_eq!(w.delays_us, vec![1000]);
    }
}
