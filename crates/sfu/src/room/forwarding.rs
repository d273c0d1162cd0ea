//! Forwarding inside a room: packets to subscribers, simulcast layer choice
//! per subscriber, and keyframe requests to publishers.

use std::time::Instant;

use str0m::media::MediaKind;
use tracing::debug;

use super::{Room, AUDIO_BPS};
use crate::event::Event;
use crate::ids::PeerKey;
use crate::participant::{Participant, SubState, TrackKey};
use crate::rewrite::InPacket;

impl Room {
    /// Picks a simulcast layer per subscriber and track from its share of the
    /// bandwidth estimate, and tells BWE how much more it could use.
    pub(super) fn choose_layers(&mut self, now: Instant) {
        let mut keyframes = Vec::new();
        let mut downlinks = Vec::new();
        for p in self.participants.values_mut() {
            // A held one receives nothing yet: no layer, no keyframe, no probing.
            if p.held {
                continue;
            }
            let estimate = p.send_budget();
            let (audio, video) = open_tracks(p);
            if video == 0 {
                continue;
            }
            if !p.receive_video {
                // Audio only: no budget for video, and no probing for it.
                p.set_desired_bitrate(now, audio * AUDIO_BPS, audio * AUDIO_BPS);
                continue;
            }
            let budget = video_share(estimate, audio, video);
            let (mut current, mut desired) = (audio * AUDIO_BPS, audio * AUDIO_BPS);
            // What the lowest layers of every picture need beside the audio:
            // below it the person is offered audio only (see `downlink.rs`).
            let mut lowest = audio * AUDIO_BPS;
            for (tk, sub) in p.subs.iter_mut() {
                if !matches!(sub.state, SubState::Open(_)) || sub.source_gone {
                    continue;
                }
                let Some(layers) = self.sources.get(tk).and_then(|s| s.layers.as_ref()) else {
                    continue;
                };
                if let Some(t) = sub.layers.choose(now, layers, budget, p.max_layer) {
                    debug!(room = %self.id, subscriber = %p.id, layer = t, "layer target");
                    keyframes.push((*tk, layers.rids.get(t).copied()));
                } else if sub.layers.keyframe_overdue(now) {
                    // A switch must not wait forever on a lost request.
                    let rid = sub.layers.target.and_then(|t| layers.rids.get(t).copied());
                    debug!(room = %self.id, subscriber = %p.id, ?rid, "switch keyframe overdue");
                    keyframes.push((*tk, rid));
                }
                let top = p
                    .max_layer
                    .unwrap_or(usize::MAX)
                    .min(layers.rids.len().saturating_sub(1));
                desired += layers.bitrate(top);
                current += sub.layers.current.map_or(0, |c| layers.bitrate(c));
                lowest += layers.bitrate(0);
            }
            p.set_desired_bitrate(now, current, desired);
            if let Some(low) = p.downlink.update(now, estimate < lowest) {
                debug!(room = %self.id, subscriber = %p.id, low, "downlink");
                downlinks.push((p.id.clone(), low));
            }
        }
        for (tk, rid) in keyframes {
            self.request_keyframe(now, tk, rid);
        }
        for (participant, low) in downlinks {
            self.events.push(Event::Downlink {
                room: self.id.clone(),
                participant,
                low,
            });
        }
    }

    /// A forwarded track was just negotiated with `subscriber`: pick its layer
    /// and get it a keyframe so the picture starts at once.
    pub(super) fn start_subscription(&mut self, now: Instant, subscriber: PeerKey, tk: TrackKey) {
        let Some(source) = self.sources.get(&tk) else {
            return;
        };
        if source.kind != MediaKind::Video {
            return;
        }
        // Held: started at admission. Audio only: started when video is
        // wanted again; until then a keyframe would be asked for nothing.
        let Some(p) = self
            .participants
            .get_mut(&subscriber)
            .filter(|p| !p.held && p.receive_video)
        else {
            return;
        };
        let rid = match &source.layers {
            Some(layers) => {
                let max = p.max_layer;
                // The share the tick would give it, so the first picture is
                // already on the layer the tick keeps (no second keyframe).
                let (audio, video) = open_tracks(p);
                let budget = video_share(p.send_budget(), audio, video);
                let sub = p.subs.get_mut(&tk);
                let target = sub.and_then(|s| {
                    s.layers.choose(now, layers, budget, max);
                    s.layers.target
                });
                match target {
                    Some(t) => layers.rids.get(t).copied(),
                    // No layer is active yet; the tick will choose one.
                    None => return,
                }
            }
            None => None,
        };
        self.request_keyframe(now, tk, rid);
    }

    /// A layer of `tk` has just started (or resumed): subscriptions that
    /// found no active layer when they opened start now, before this packet
    /// is forwarded, instead of at the next tick (up to 250 ms later). When
    /// the packet opens a keyframe, it can then be their first picture.
    /// `start_subscription` itself passes over the held and the audio-only.
    fn start_waiting_subscriptions(&mut self, now: Instant, tk: TrackKey) {
        let waiting: Vec<PeerKey> = self
            .participants
            .iter()
            .filter(|(_, p)| {
                p.subs.get(&tk).is_some_and(|s| {
                    matches!(s.state, SubState::Open(_)) && s.layers.target.is_none()
                })
            })
            .map(|(k, _)| *k)
            .collect();
        for subscriber in waiting {
            self.start_subscription(now, subscriber, tk);
        }
    }

    /// Sends one incoming packet to every subscriber that should get it.
    pub(super) fn forward(&mut self, now: Instant, from: PeerKey, pkt: InPacket) {
        // A held participant's media reaches nobody, and nothing reaches them.
        let Some(mut publisher) = self.participants.get(&from).filter(|p| !p.held) else {
            return;
        };
        let tk = TrackKey {
            peer: from,
            mid: pkt.mid,
        };
        let Some(source) = self.sources.get_mut(&tk).filter(|s| s.forwarded) else {
            return;
        };
        if pkt.keyframe_start {
            source.keyframes.keyframe_arrived(pkt.rid);
        }
        let (layer, woke) = match (&mut source.layers, pkt.rid) {
            (Some(layers), Some(rid)) => {
                let Some(i) = layers.index_of(rid) else {
                    return;
                };
                let stats = &mut layers.stats[i];
                let woke = !stats.active(now);
                stats.record(now, pkt.payload.len());
                (Some(i), woke)
            }
            _ => (None, false),
        };
        let kind = source.kind;
        if woke {
            // Rare (a layer's first packet): the lookup again is cheap there.
            self.start_waiting_subscriptions(now, tk);
            let Some(p) = self.participants.get(&from) else {
                return;
            };
            publisher = p;
        }
        let allowed = match kind {
            MediaKind::Audio => publisher.forward_audio,
            MediaKind::Video => publisher.forward_video,
        };
        if !allowed {
            return;
        }
        if let Some(level) = pkt.audio_level {
            self.speaker.record(now, &publisher.id, level);
        }
        for (k, p) in self.participants.iter_mut() {
            if *k != from && !p.held {
                p.forward_rtp(&tk, &pkt, layer);
            }
        }
    }
}

/// How many audio and video tracks `p` receives now (open, source alive).
fn open_tracks(p: &Participant) -> (u64, u64) {
    let open = p
        .subs
        .values()
        .filter(|s| matches!(s.state, SubState::Open(_)) && !s.source_gone);
    let (mut audio, mut video) = (0, 0);
    for s in open {
        match s.kind {
            MediaKind::Audio => audio += 1,
            MediaKind::Video => video += 1,
        }
    }
    (audio, video)
}

/// Each video track's even share of `estimate` after the audio: in a group
/// every face matters equally.
fn video_share(estimate: u64, audio: u64, video: u64) -> u64 {
    estimate.saturating_sub(audio * AUDIO_BPS) / video.max(1)
}
