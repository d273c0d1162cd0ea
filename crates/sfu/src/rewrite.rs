//! Packet-level forwarding: what the engine reads from an incoming RTP packet
//! once, and how it renumbers the packet for each subscriber.
//!
//! A subscriber's m-line carries one stream, but what feeds it changes: a
//! simulcast layer switch, a publisher's new SSRC. Each source numbers its
//! packets, timestamps and VP8 pictures on its own, so every switch would look
//! like loss or a clock jump to the browser. The [`Rewriter`] keeps one offset
//! per field for the current run of one source and picks the offsets of a new
//! run so the outgoing stream just continues.

use std::sync::Arc;
use std::time::Instant;

use str0m::format::{Codec, PayloadParams};
use str0m::media::{Mid, Rid};
use str0m::rtp::{SeqNo, Ssrc, VideoOrientation, Vp8Descriptor, Vp8Patch};

/// One incoming media packet, as every subscriber's copy needs it. The payload
/// is shared, never copied, between the subscribers.
#[derive(Debug)]
pub(crate) struct InPacket {
    pub mid: Mid,
    pub rid: Option<Rid>,
    pub ssrc: Ssrc,
    /// The publisher's codec for this packet's payload type.
    pub params: PayloadParams,
    /// Extended (rollover-free) sequence number.
    pub seq_no: SeqNo,
    pub time: u32,
    pub marker: bool,
    pub payload: Arc<[u8]>,
    pub audio_level: Option<i8>,
    pub voice_activity: Option<bool>,
    pub video_orientation: Option<VideoOrientation>,
    pub arrival: Instant,
    /// The first packet of a keyframe: where a subscriber may switch layers.
    pub keyframe_start: bool,
    /// VP8 payload descriptor, parsed once for all subscribers.
    pub vp8: Option<Vp8Descriptor>,
}

impl InPacket {
    /// Reads what forwarding needs from a VP8 or H.264 payload.
    pub fn codec_info(params: &PayloadParams, payload: &[u8]) -> (bool, Option<Vp8Descriptor>) {
        match params.spec().codec {
            Codec::Vp8 => match Vp8Descriptor::parse(payload) {
                Ok(d) => (d.starts_keyframe(payload), Some(d)),
                Err(_) => (false, None),
            },
            // A keyframe opens with its parameter sets (SPS, type 7) before
            // the IDR slice (5); a switch must not skip them.
            Codec::H264 => (
                str0m::format::detect_h264_nalu(payload, 7)
                    || str0m::format::detect_h264_keyframe(payload),
                None,
            ),
            _ => (false, None),
        }
    }
}

/// One packet's outgoing numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rewritten {
    pub seq_no: SeqNo,
    pub time: u32,
    pub vp8: Option<Vp8Patch>,
    /// The VP8 picture id and TL0PICIDX the patch writes.
    pub picture_id: Option<u16>,
    pub tl0: Option<u8>,
}

/// The offsets of one run: packets from one source since the last switch.
#[derive(Debug, Clone, Copy)]
struct Run {
    ssrc: Ssrc,
    /// Packets older than the run's first (late resends of the old run)
    /// would land on numbers already used; they are dropped.
    first_in: u64,
    seq: u64,
    time: u32,
    picture_id: u16,
    tl0: u8,
}

/// The newest packet sent: where a new run continues from.
#[derive(Debug, Clone, Copy)]
struct Last {
    seq: u64,
    time: u32,
    at: Instant,
    picture_id: Option<u16>,
    tl0: Option<u8>,
}

/// Renumbers one forwarded track for one subscriber.
#[derive(Debug, Default)]
pub(crate) struct Rewriter {
    run: Option<Run>,
    last: Option<Last>,
}

impl Rewriter {
    /// The outgoing numbers for `pkt`, or `None` when it predates the current
    /// run. `new_run` starts a new run at this packet (the first one sent, a
    /// layer switch on a keyframe); a new SSRC starts one too.
    pub fn rewrite(&mut self, pkt: &InPacket, new_run: bool) -> Option<Rewritten> {
        let seq = *pkt.seq_no;
        let vp8 = pkt.vp8.as_ref();
        let picture_id = vp8.and_then(|d| d.picture_id());
        let tl0 = vp8.and_then(|d| d.tl0_pic_idx());
        let run = match self.run {
            Some(r) if !new_run && r.ssrc == pkt.ssrc => r,
            _ => {
                let r = self.start_run(pkt, picture_id, tl0);
                self.run = Some(r);
                r
            }
        };
        if seq < run.first_in {
            return None;
        }
        let out_seq = seq.wrapping_add(run.seq);
        let out_time = pkt.time.wrapping_add(run.time);
        let mask = match vp8 {
            Some(_) if long_picture_id(&pkt.payload) => 0x7fff,
            _ => 0x7f,
        };
        let out_pid = picture_id.map(|p| p.wrapping_add(run.picture_id) & mask);
        let out_tl0 = tl0.map(|t| t.wrapping_add(run.tl0));
        let patch = vp8.and_then(|d| {
            let mut b = d.patch();
            if let Some(p) = out_pid {
                b = b.picture_id(p);
            }
            if let Some(t) = out_tl0 {
                b = b.tl0_pic_idx(t);
            }
            // Cannot fail: both fields exist in this descriptor and fit its width.
            b.build().ok()
        });
        if self.last.is_none_or(|l| out_seq > l.seq) {
            self.last = Some(Last {
                seq: out_seq,
                time: out_time,
                at: pkt.arrival,
                picture_id: out_pid,
                tl0: out_tl0,
            });
        }
        Some(Rewritten {
            seq_no: out_seq.into(),
            time: out_time,
            vp8: patch,
            picture_id: out_pid,
            tl0: out_tl0,
        })
    }

    fn start_run(&self, pkt: &InPacket, picture_id: Option<u16>, tl0: Option<u8>) -> Run {
        let seq = *pkt.seq_no;
        let Some(last) = self.last else {
            // The first run keeps the source's numbers, within the first
            // rollover: the browser assumes the stream starts there (RFC 3711).
            return Run {
                ssrc: pkt.ssrc,
                first_in: seq,
                seq: u64::from(seq as u16).wrapping_sub(seq),
                time: 0,
                picture_id: 0,
                tl0: 0,
            };
        };
        // The new source's clock has its own origin: continue from the last
        // timestamp sent, advanced by the time that really passed.
        let hz = u64::from(pkt.params.spec().clock_rate.get());
        let gap = pkt.arrival.saturating_duration_since(last.at).as_micros() as u64;
        let ticks = (gap * hz / 1_000_000).max(1) as u32;
        Run {
            ssrc: pkt.ssrc,
            first_in: seq,
            seq: (last.seq + 1).wrapping_sub(seq),
            time: last.time.wrapping_add(ticks).wrapping_sub(pkt.time),
            picture_id: match (last.picture_id, picture_id) {
                (Some(l), Some(p)) => l.wrapping_add(1).wrapping_sub(p),
                _ => 0,
            },
            tl0: match (last.tl0, tl0) {
                (Some(l), Some(t)) => l.wrapping_add(1).wrapping_sub(t),
                _ => 0,
            },
        }
    }
}

/// Whether a VP8 descriptor's picture id is the 15-bit form (RFC 7741 4.2:
/// X bit, then I bit, then the M bit of the picture id's first byte).
fn long_picture_id(payload: &[u8]) -> bool {
    let bit = |i: usize| payload.get(i).is_some_and(|b| b & 0x80 != 0);
    bit(0) && bit(1) && bit(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn vp8_params() -> PayloadParams {
        PayloadParams::new(
            96.into(),
            Some(97.into()),
            str0m::format::CodecSpec {
                codec: Codec::Vp8,
                clock_rate: str0m::media::Frequency::NINETY_KHZ,
                channels: None,
                format: Default::default(),
            },
        )
    }

    /// A VP8 packet with a 15-bit picture id and a TL0PICIDX.
    fn packet(ssrc: u32, seq: u64, time: u32, pid: u16, tl0: u8, at: Instant) -> InPacket {
        let payload: Arc<[u8]> = Arc::from(
            &[
                0x90,
                0xe0,
                0x80 | (pid >> 8) as u8,
                pid as u8,
                tl0,
                0x00,
                0x10,
                0,
                0,
            ][..],
        );
        let params = vp8_params();
        let (keyframe_start, vp8) = InPacket::codec_info(&params, &payload);
        InPacket {
            mid: "1".into(),
            rid: None,
            ssrc: ssrc.into(),
            params,
            seq_no: seq.into(),
            time,
            marker: false,
            payload,
            audio_level: None,
            voice_activity: None,
            video_orientation: None,
            arrival: at,
            keyframe_start,
            vp8,
        }
    }

    #[test]
    fn a_switch_continues_sequence_time_and_picture_ids() {
        let t0 = Instant::now();
        let mut r = Rewriter::default();
        let a = packet(1, 70_000, 1000, 500, 7, t0);
        let first = r.rewrite(&a, true).unwrap();
        assert_eq!(
            *first.seq_no,
            70_000 % 65_536,
            "starts in the first rollover"
        );
        assert_eq!(first.time, 1000);
        let a2 = packet(1, 70_001, 4000, 501, 8, t0 + Duration::from_millis(33));
        let second = r.rewrite(&a2, false).unwrap();
        assert_eq!(*second.seq_no, *first.seq_no + 1);
        assert_eq!(second.time, 4000);
        assert_eq!((second.picture_id, second.tl0), (Some(501), Some(8)));

        // Another layer: its own numbers, 10 ms later.
        let b = packet(2, 9, 555_555, 20_000, 200, t0 + Duration::from_millis(43));
        let third = r.rewrite(&b, true).unwrap();
        assert_eq!(*third.seq_no, *second.seq_no + 1, "no gap");
        assert_eq!(third.time, 4000 + 900, "time advances by the real gap");
        assert!(third.vp8.is_some());
        assert_eq!(
            (third.picture_id, third.tl0),
            (Some(502), Some(9)),
            "pictures continue"
        );
        let b2 = packet(
            2,
            10,
            555_555 + 3000,
            20_001,
            201,
            t0 + Duration::from_millis(76),
        );
        let fourth = r.rewrite(&b2, false).unwrap();
        assert_eq!(*fourth.seq_no, *third.seq_no + 1);
        assert_eq!(fourth.time, 4900 + 3000);

        // A late resend from before the switch lands on used numbers: dropped.
        let late = packet(
            2,
            8,
            555_555 - 3000,
            19_999,
            199,
            t0 + Duration::from_millis(80),
        );
        assert_eq!(r.rewrite(&late, false), None);
    }
}
