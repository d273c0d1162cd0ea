//! A synthetic encoder: audio and camera frames of realistic size and rate,
//! with keyframes when they are due. It produces bytes only; the peer writes
//! them through str0m, which packetizes them as it would a real encoder's.

use std::time::{Duration, Instant};

use str0m::media::{Frequency, MediaKind, MediaTime, Rid};

use crate::stamp::Stamp;

/// Opus at 20 ms frames.
pub const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
/// A typical Opus voice frame is 60–100 bytes.
pub const AUDIO_FRAME_BYTES: usize = 80;
/// 30 fps, as browsers send a camera.
pub const VIDEO_INTERVAL: Duration = Duration::from_micros(33_333);
/// Browsers send keyframes only on request; a periodic one as well keeps a
/// long run honest about the cost of the larger frames.
pub const KEYFRAME_INTERVAL: Duration = Duration::from_secs(5);
/// A keyframe is several times a delta frame at the same quality.
const KEYFRAME_FACTOR: usize = 3;
/// Falling further behind than this (a stalled thread) restarts the clock
/// instead of sending a burst to catch up.
const MAX_LAG: Duration = Duration::from_millis(200);

/// One simulcast layer as browsers send a camera: quarter, half, full size.
pub struct Layer {
    pub rid: &'static str,
    pub bits_per_second: usize,
    /// Written into keyframe headers, as a VP8 encoder would.
    pub width: u16,
    pub height: u16,
}

pub const LAYERS: [Layer; 3] = [
    Layer {
        rid: "q",
        width: 320,
        height: 180,
        bits_per_second: 150_000,
    },
    Layer {
        rid: "h",
        width: 640,
        height: 360,
        bits_per_second: 500_000,
    },
    Layer {
        rid: "f",
        width: 1280,
        height: 720,
        bits_per_second: 1_500_000,
    },
];

/// Without simulcast the camera is one stream at the full layer's rate.
const SINGLE_LAYER: usize = 2;

/// A frame for the peer to write on its audio or video m-line.
pub struct Frame {
    pub kind: MediaKind,
    pub rid: Option<Rid>,
    pub time: MediaTime,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

/// Where the [`Stamp`] sits in an audio frame: after the Opus TOC byte.
const AUDIO_STAMP_AT: usize = 1;
/// Where the [`Stamp`] sits in a camera frame: after the 10-byte VP8 header
/// (3-byte frame tag, start code, width, height). Janus reads that header to
/// recognise keyframes, so it has to look real.
const VIDEO_STAMP_AT: usize = 10;
/// The VP8 keyframe start code (RFC 6386 9.1).
const VP8_START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

/// The stamp a publisher wrote into a received frame.
pub fn stamp_of(kind: MediaKind, frame: &[u8]) -> Option<Stamp> {
    match kind {
        MediaKind::Audio => Stamp::read(frame, AUDIO_STAMP_AT),
        MediaKind::Video => Stamp::read(frame, VIDEO_STAMP_AT),
    }
}

/// Which layer a received camera frame came from: the encoder writes the
/// layer's index into the second byte, and the servers forward payloads as is.
pub fn layer_of(video_frame: &[u8]) -> Option<usize> {
    video_frame
        .get(1)
        .map(|b| *b as usize)
        .filter(|i| *i < LAYERS.len())
}

pub struct Encoder {
    /// Index of the peer, stamped into every frame.
    publisher: u8,
    simulcast: bool,
    audio_frames: u64,
    video_frames: u64,
    next_audio: Instant,
    next_video: Instant,
    next_periodic_keyframe: Instant,
    /// Layer indexes that owe a keyframe (asked for, or due).
    keyframe_due: Vec<usize>,
}

impl Encoder {
    pub fn new(now: Instant, publisher: u8, simulcast: bool) -> Encoder {
        Encoder {
            publisher,
            simulcast,
            audio_frames: 0,
            video_frames: 0,
            next_audio: now,
            next_video: now,
            next_periodic_keyframe: now + KEYFRAME_INTERVAL,
            // A stream starts with a keyframe.
            keyframe_due: (0..LAYERS.len()).collect(),
        }
    }

    /// When the next frame is due.
    pub fn next_due(&self) -> Instant {
        self.next_audio.min(self.next_video)
    }

    /// The engine asked for a keyframe on one layer (`None`: the only one).
    pub fn request_keyframe(&mut self, rid: Option<Rid>) {
        let index = match rid {
            Some(rid) => LAYERS.iter().position(|l| *rid == *l.rid),
            None => Some(SINGLE_LAYER),
        };
        if let Some(i) = index {
            if !self.keyframe_due.contains(&i) {
                self.keyframe_due.push(i);
            }
        }
    }

    /// Every frame due at `now`: at most one audio frame and one camera
    /// frame (one per layer with simulcast).
    pub fn frames_due(&mut self, now: Instant) -> Vec<Frame> {
        let mut out = Vec::new();
        if now >= self.next_audio {
            self.next_audio = advance(self.next_audio, AUDIO_INTERVAL, now);
            self.audio_frames += 1;
            let mut data = vec![0xfc; AUDIO_FRAME_BYTES];
            Stamp::new(self.publisher, self.audio_frames as u32, now)
                .write(&mut data, AUDIO_STAMP_AT);
            out.push(Frame {
                kind: MediaKind::Audio,
                rid: None,
                time: MediaTime::new(self.audio_frames * 960, Frequency::FORTY_EIGHT_KHZ),
                keyframe: false,
                data,
            });
        }
        if now >= self.next_video {
            self.next_video = advance(self.next_video, VIDEO_INTERVAL, now);
            self.video_frames += 1;
            if now >= self.next_periodic_keyframe {
                self.next_periodic_keyframe = now + KEYFRAME_INTERVAL;
                self.keyframe_due = (0..LAYERS.len()).collect();
            }
            let layers = if self.simulcast {
                0..LAYERS.len()
            } else {
                SINGLE_LAYER..SINGLE_LAYER + 1
            };
            for i in layers {
                out.push(self.video_frame(now, i));
            }
        }
        out
    }

    fn video_frame(&mut self, now: Instant, layer: usize) -> Frame {
        let keyframe = self.keyframe_due.contains(&layer);
        self.keyframe_due.retain(|i| *i != layer);
        let delta = LAYERS[layer].bits_per_second / 8 / 30;
        let size = if keyframe {
            delta * KEYFRAME_FACTOR
        } else {
            delta
        };
        let mut data = vec![0u8; size];
        // VP8 frame tag: the low bit clear marks a keyframe, 0x10 "show frame".
        data[0] = if keyframe { 0x10 } else { 0x11 };
        data[1] = layer as u8;
        data[3..6].copy_from_slice(&VP8_START_CODE);
        data[6..8].copy_from_slice(&LAYERS[layer].width.to_le_bytes());
        data[8..10].copy_from_slice(&LAYERS[layer].height.to_le_bytes());
        // Every layer of one camera frame shares its number, so a receiver
        // sees no gap when the server switches it to another layer.
        Stamp::new(self.publisher, self.video_frames as u32, now).write(&mut data, VIDEO_STAMP_AT);
        Frame {
            kind: MediaKind::Video,
            rid: self.simulcast.then(|| LAYERS[layer].rid.into()),
            time: MediaTime::from_90khz(self.video_frames * 3000),
            keyframe,
            data,
        }
    }
}

fn advance(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if now.saturating_duration_since(next) > MAX_LAG {
        now + interval
    } else {
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the encoder for one simulated second and sums bytes per layer.
    fn one_second(simulcast: bool) -> (usize, Vec<usize>) {
        let start = Instant::now();
        let mut enc = Encoder::new(start, 0, simulcast);
        let (mut audio, mut video) = (0, vec![0; LAYERS.len()]);
        for ms in 0..1000 {
            for f in enc.frames_due(start + Duration::from_millis(ms)) {
                match f.kind {
                    MediaKind::Audio => audio += 1,
                    MediaKind::Video => video[layer_of(&f.data).unwrap()] += f.data.len(),
                }
            }
        }
        (audio, video)
    }

    #[test]
    fn layers_have_the_intended_rates() {
        let (audio_frames, video) = one_second(true);
        assert_eq!(audio_frames, 50);
        for (bytes, layer) in video.iter().zip(LAYERS.iter()) {
            let bits = bytes * 8;
            // 30 frames, the first a keyframe.
            let expected = layer.bits_per_second * 32 / 30;
            assert!(
                bits.abs_diff(expected) < expected / 20,
                "{bits} vs {expected}"
            );
        }
        let (_, single) = one_second(false);
        assert_eq!(single[..2], [0, 0], "one layer only without simulcast");
    }

    #[test]
    fn a_requested_keyframe_goes_out_on_that_layer_only() {
        let start = Instant::now();
        let mut enc = Encoder::new(start, 0, true);
        enc.frames_due(start);
        enc.request_keyframe(Some("h".into()));
        let frames = enc.frames_due(start + VIDEO_INTERVAL);
        let keys: Vec<bool> = frames
            .iter()
            .filter(|f| f.kind == MediaKind::Video)
            .map(|f| f.keyframe)
            .collect();
        assert_eq!(keys, [false, true, false]);
    }

    #[test]
    fn frames_carry_a_stamp_and_keyframes_a_vp8_header() {
        let start = Instant::now();
        let mut enc = Encoder::new(start, 7, true);
        let frames = enc.frames_due(start);
        let frames2 = enc.frames_due(start + VIDEO_INTERVAL);
        for (batch, at) in [(&frames, start), (&frames2, start + VIDEO_INTERVAL)] {
            for f in batch {
                let stamp = stamp_of(f.kind, &f.data).unwrap();
                assert_eq!(stamp.publisher, 7);
                assert_eq!(stamp.sent_us, crate::stamp::micros(at));
            }
        }
        let video: Vec<&Frame> = frames
            .iter()
            .filter(|f| f.kind == MediaKind::Video)
            .collect();
        // All layers of one camera frame share its number.
        assert!(video
            .iter()
            .all(|f| stamp_of(f.kind, &f.data).unwrap().seq == 1));
        let key = video[2];
        assert!(key.keyframe && key.data[0] & 1 == 0);
        assert_eq!(key.data[3..6], VP8_START_CODE);
        assert_eq!(u16::from_le_bytes([key.data[6], key.data[7]]), 1280);
        let next = frames2.iter().find(|f| f.kind == MediaKind::Video).unwrap();
        assert_eq!(stamp_of(next.kind, &next.data).unwrap().seq, 2);
        assert_eq!(next.data[0] & 1, 1, "a delta frame");
    }
}
