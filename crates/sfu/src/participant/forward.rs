//! The packet path of a participant: reading what it publishes, and writing
//! what it receives onto its m-lines.

use std::mem;

use str0m::media::MediaKind;
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};

use super::{Participant, SubState, TrackKey};
use crate::rewrite::InPacket;
use crate::simulcast::Verdict;

impl Participant {
    /// Reads an incoming packet of one of this participant's tracks. `None`
    /// for packets of no known stream or payload type.
    pub(super) fn read_packet(&mut self, p: RtpPacket) -> Option<InPacket> {
        let ssrc = p.header.ssrc;
        // The MID/RID header extensions stop once str0m has bound the SSRC to
        // its stream; the stream knows them from then on.
        let (mid, rid) = {
            let mut api = self.rtc.direct_api();
            let stream = api.stream_rx(&ssrc)?;
            (stream.mid(), stream.rid())
        };
        let pt = p.header.payload_type;
        let params = *self
            .rtc
            .codec_config()
            .params()
            .iter()
            .find(|c| c.pt() == pt)?;
        let (keyframe_start, vp8) = InPacket::codec_info(&params, &p.payload);
        let ext = &p.header.ext_vals;
        Some(InPacket {
            mid,
            rid,
            ssrc,
            params,
            seq_no: p.seq_no,
            time: p.header.timestamp,
            marker: p.header.marker,
            audio_level: ext.audio_level,
            voice_activity: ext.voice_activity,
            video_orientation: ext.video_orientation,
            payload: p.payload,
            arrival: p.timestamp,
            keyframe_start,
            vp8,
        })
    }

    /// Forwards one packet of track `tk` if this participant receives it:
    /// the layer check, the renumbering, then str0m's send stream of the
    /// m-line (which paces it, keeps it for NACKs and encrypts it).
    pub fn forward_rtp(&mut self, tk: &TrackKey, pkt: &InPacket, layer: Option<usize>) {
        let Some(sub) = self.subs.get_mut(tk) else {
            return;
        };
        let SubState::Open(mid) = sub.state else {
            return;
        };
        let video = sub.kind == MediaKind::Video;
        if video && !self.receive_video {
            return;
        }
        let verdict = match layer {
            Some(i) => sub.layers.accept(i, pkt.keyframe_start),
            None => Verdict::Forward,
        };
        if verdict == Verdict::Drop {
            return;
        }
        // The publisher's codec as this subscriber numbered it; a subscriber
        // whose m-line lacks that codec gets nothing of this track.
        let from = pkt.params.pt();
        let pt = match sub.out.pt {
            Some((f, to)) if f == from => to,
            _ => {
                let Some(to) = self.rtc.codec_config().match_params(pkt.params) else {
                    return;
                };
                let to = to.pt();
                if !self
                    .rtc
                    .media(mid)
                    .is_some_and(|m| m.remote_pts().contains(&to))
                {
                    return;
                }
                sub.out.pt = Some((from, to));
                to
            }
        };
        let new_run = mem::take(&mut sub.rebase) || verdict == Verdict::ForwardSwitched;
        let Some(out) = sub.rewrite.rewrite(pkt, new_run) else {
            return;
        };
        let mut api = self.rtc.direct_api();
        if sub.out.ssrc.is_none() {
            sub.out.ssrc = api.stream_tx_by_mid(mid, None).map(|s| s.ssrc());
        }
        let Some(tx) = sub.out.ssrc.and_then(|s| api.stream_tx(&s)) else {
            sub.out.ssrc = None;
            return;
        };
        let ext = ExtensionValues {
            audio_level: pkt.audio_level,
            voice_activity: pkt.voice_activity,
            video_orientation: pkt.video_orientation,
            ..Default::default()
        };
        // The payload is shared with the other subscribers; str0m copies it
        // once, into the datagram, patching the VP8 descriptor on the way.
        let mut write = RtpWrite::new(pt, out.seq_no, out.time, pkt.arrival, pkt.payload.clone())
            .marker(pkt.marker)
            .ext_vals(ext)
            // str0m keeps only what it can resend (RTX negotiated): video.
            .nackable(true);
        if let Some(patch) = out.vp8 {
            write = write.vp8_patch(patch);
        }
        tx.write_rtp(write);
        if video {
            self.forwarded.video_packets += 1;
        } else {
            self.forwarded.audio_packets += 1;
        }
        // Drained by the room once this packet (or a batch) is written everywhere.
        self.unsent = true;
    }
}
