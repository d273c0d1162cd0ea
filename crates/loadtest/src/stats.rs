//! What one synthetic participant counts: the traffic between it and the
//! engine, and the media it got out of that traffic.

use std::collections::BTreeMap;

use crate::media::LAYERS;

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
}

impl Counters {
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
