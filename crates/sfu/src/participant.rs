//! One participant's str0m `Rtc` and what the engine forwards to it.
//!
//! Every method that changes the `Rtc` drains `poll_output` to a timeout before
//! returning (str0m's rule); what the drain finds is queued in `found` and
//! `transmits` for the room to act on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::config::CryptoProvider;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt, Rid, Rids};
use str0m::net::Receive;
use str0m::rtp::Ssrc;
use str0m::{Event as RtcEvent, IceConnectionState, IceCreds, Input, Output, Rtc, RtcError};
use tracing::{debug, warn};

use crate::contain::contained;
use crate::downlink::DownlinkWatch;
use crate::error::SfuError;
use crate::ids::{ParticipantId, PeerKey};
use crate::rewrite::{InPacket, Rewriter};
use crate::simulcast::LayerSelector;
use crate::traffic::Forwarded;
use crate::transmits::Transmits;

mod forward;

/// Starting send estimate; BWE probes upward from here.
const INITIAL_ESTIMATE: Bitrate = Bitrate::kbps(1_500);

/// Due timeouts one drain handles before leaving the rest to the worker's
/// next pass: enough for a keyframe burst to every subscriber's pacer
/// budget, and a bound in case str0m keeps answering "now".
const MAX_DUE_AGAIN: u32 = 64;
/// A timeout due this soon is handled in the drain: the worker would not
/// come back for it sooner than its shortest wait anyway.
const DUE_SOON: Duration = crate::worker::MIN_WAIT;

/// A published track: the publisher's connection and the m-line it arrives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TrackKey {
    pub peer: PeerKey,
    pub mid: Mid,
}

/// What a drain found that the room must act on.
#[derive(Debug)]
// Packets are most of what is found; boxing them would allocate per packet.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Found {
    Connected,
    /// The connection is dead (DTLS failure, closed by the peer).
    Failed,
    TrackAdded {
        mid: Mid,
        kind: MediaKind,
        rids: Vec<Rid>,
    },
    /// An RTP packet of a published track.
    Rtp(InPacket),
    /// A renegotiation changed an m-line's direction (e.g. the browser stopped
    /// or resumed a screen share).
    TrackChanged {
        mid: Mid,
        kind: MediaKind,
        receiving: bool,
        rids: Vec<Rid>,
    },
    /// The browser asks for a keyframe on a track we send it.
    KeyframeWanted {
        out_mid: Mid,
    },
}

/// Negotiation state of one forwarded track in the subscriber's SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubState {
    ToOpen,
    Negotiating(Mid),
    Open(Mid),
    ToStop(Mid),
    NegotiatingStop(Mid),
}

/// One track of another participant, forwarded to this one.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub kind: MediaKind,
    pub publisher: ParticipantId,
    pub state: SubState,
    /// The publisher left or stopped the track; stop the m-line when possible.
    pub source_gone: bool,
    pub layers: LayerSelector,
    pub rewrite: Rewriter,
    /// The next packet starts a new run (first packet, renegotiated m-line):
    /// the rewriter continues the numbering from there.
    pub rebase: bool,
    pub out: OutStream,
}

/// Looked up on the first forwarded packet and kept: the subscriber's send
/// stream for the m-line and its payload type for the publisher's codec.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OutStream {
    pub ssrc: Option<Ssrc>,
    /// The publisher's payload type and the subscriber's for the same codec.
    pub pt: Option<(Pt, Pt)>,
}

pub(crate) struct Participant {
    pub key: PeerKey,
    pub id: ParticipantId,
    rtc: Rtc,
    pub ufrag: String,
    pub connected: bool,
    pub last_rx: Instant,
    pub next_timeout: Instant,
    /// Latest send-side bandwidth estimate towards this participant.
    estimate_bps: Option<u64>,
    /// An upper bound on what we send this participant, whatever BWE says
    /// (tests use it to simulate a bandwidth drop deterministically).
    pub bitrate_cap: Option<u64>,
    /// Whether this participant's own audio/video is forwarded to others.
    pub forward_audio: bool,
    pub forward_video: bool,
    /// Whether a second video track (a screen share) may be forwarded.
    pub screen_allowed: bool,
    /// Highest simulcast layer index this participant wants (tile size).
    pub max_layer: Option<usize>,
    /// False while the person chose audio only: no video is written to
    /// them, so their downlink carries audio alone.
    pub receive_video: bool,
    /// Joined but not admitted (a waiting room): the room's tracks are
    /// negotiated with them, so admission needs no new offer, but nothing is
    /// written to them and nothing of theirs goes out.
    pub held: bool,
    /// What was written to this participant, for the app and its tests.
    pub forwarded: Forwarded,
    pub downlink: DownlinkWatch,
    pub subs: HashMap<TrackKey, Subscription>,
    sub_by_mid: HashMap<Mid, TrackKey>,
    pending: Option<(SdpPendingOffer, Instant)>,
    pub found: Vec<Found>,
    pub transmits: Transmits,
    /// Packets were written since the last drain (see `send_written`).
    unsent: bool,
    /// Set when str0m panicked on this peer's SDP: its `Rtc` is not to be
    /// trusted again, and the room removes the peer (see `contain.rs`).
    pub poisoned: bool,
}

fn parse_err(_: impl std::fmt::Display) -> SfuError {
    // Parser messages can quote the input (addresses); keep them out of errors.
    SfuError::InvalidSdp("could not parse SDP".into())
}

fn rtc_err(e: RtcError) -> SfuError {
    match e {
        RtcError::RemoteSdp(msg) => SfuError::InvalidSdp(msg),
        RtcError::ChangesOutOfOrder => SfuError::NoPendingOffer,
        other => SfuError::InvalidSdp(format!("rejected: {other}")),
    }
}

impl Participant {
    pub fn new(
        now: Instant,
        key: PeerKey,
        id: ParticipantId,
        candidates: &[str0m::Candidate],
        crypto: &Arc<CryptoProvider>,
    ) -> Participant {
        let creds = IceCreds::new();
        let ufrag = creds.ufrag.clone();
        let mut rtc = Rtc::builder()
            .set_crypto_provider(crypto.clone())
            .set_ice_lite(true)
            .set_local_ice_credentials(creds)
            // Opus, VP8 and H.264 are what Chromium, Firefox and Safari share;
            // fewer codecs means a publisher's codec is one every subscriber has.
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .enable_bwe(Some(INITIAL_ESTIMATE))
            // Packets are forwarded as they come (see `rewrite.rs`): no
            // depacketizing and packetizing again for every subscriber.
            .set_rtp_mode(true)
            .build(now);
        for c in candidates {
            rtc.add_local_candidate(c.clone());
        }
        Participant {
            key,
            id,
            rtc,
            ufrag,
            connected: false,
            last_rx: now,
            next_timeout: now,
            estimate_bps: None,
            bitrate_cap: None,
            forward_audio: true,
            forward_video: true,
            screen_allowed: false,
            max_layer: None,
            receive_video: true,
            held: false,
            forwarded: Forwarded::default(),
            downlink: DownlinkWatch::default(),
            subs: HashMap::new(),
            sub_by_mid: HashMap::new(),
            pending: None,
            found: Vec::new(),
            transmits: Transmits::default(),
            unsent: false,
            poisoned: false,
        }
    }

    /// Accepts a browser offer (first join, or a re-offer) and returns the answer.
    pub fn accept_offer(&mut self, now: Instant, sdp: &str) -> Result<String, SfuError> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(parse_err)?;
        let rtc = &mut self.rtc;
        let result = match contained(|| rtc.sdp_api().accept_offer(offer)) {
            Ok(result) => result,
            Err(e) => {
                self.poisoned = true;
                return Err(e);
            }
        };
        // str0m drops our own pending offer when it accepts one: we are the
        // polite side of glare. Put our changes back in the queue.
        if self.pending.take().is_some() {
            debug!(participant = %self.id, "browser offer superseded our pending offer");
        }
        for sub in self.subs.values_mut() {
            sub.state = match sub.state {
                SubState::Negotiating(_) => SubState::ToOpen,
                SubState::NegotiatingStop(m) => SubState::ToStop(m),
                s => s,
            };
        }
        let answer = result.map_err(rtc_err);
        self.drain(now);
        let answer = answer?.to_sdp_string();
        // An ICE restart in the offer gives us new local credentials; the packet
        // router finds participants by them.
        if let Some(ufrag) = answer
            .lines()
            .find_map(|l| l.trim().strip_prefix("a=ice-ufrag:"))
        {
            self.ufrag = ufrag.to_owned();
        }
        Ok(answer)
    }

    /// Applies the browser's answer to our last offer.
    pub fn accept_answer(&mut self, now: Instant, sdp: &str) -> Result<(), SfuError> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(parse_err)?;
        let Some((pending, _)) = self.pending.take() else {
            return Err(SfuError::NoPendingOffer);
        };
        let rtc = &mut self.rtc;
        let result = match contained(|| rtc.sdp_api().accept_answer(pending, answer)) {
            Ok(result) => result,
            Err(e) => {
                self.poisoned = true;
                return Err(e);
            }
        };
        let ok = result.is_ok();
        for (key, sub) in self.subs.iter_mut() {
            sub.state = match (sub.state, ok) {
                (SubState::Negotiating(m), true) => {
                    sub.rebase = true;
                    self.sub_by_mid.insert(m, *key);
                    SubState::Open(m)
                }
                (SubState::Negotiating(_), false) => SubState::ToOpen,
                (SubState::NegotiatingStop(m), false) => SubState::ToStop(m),
                (s, _) => s,
            };
        }
        if ok {
            // Stopped m-lines are done; str0m may recycle them for new tracks.
            let sub_by_mid = &mut self.sub_by_mid;
            self.subs.retain(|_, s| match s.state {
                SubState::NegotiatingStop(m) => {
                    sub_by_mid.remove(&m);
                    false
                }
                _ => true,
            });
        }
        self.drain(now);
        result.map_err(rtc_err)
    }

    /// Sends an offer if forwarded tracks need adding or stopping and nothing
    /// is in flight. Returns the offer SDP for the app.
    pub fn make_offer(&mut self, now: Instant, offer_timeout: Duration) -> Option<String> {
        if !self.connected {
            return None;
        }
        if let Some((_, sent)) = &self.pending {
            if now.saturating_duration_since(*sent) < offer_timeout {
                return None;
            }
            // The browser never answered (it may have ignored the offer during
            // glare). Drop it and offer again with the current state.
            warn!(participant = %self.id, "offer unanswered, sending a new one");
            self.pending = None;
            for sub in self.subs.values_mut() {
                sub.state = match sub.state {
                    SubState::Negotiating(_) => SubState::ToOpen,
                    SubState::NegotiatingStop(m) => SubState::ToStop(m),
                    s => s,
                };
            }
        }
        // Tracks whose publisher left before we ever offered them need no m-line.
        self.subs
            .retain(|_, s| !(s.source_gone && s.state == SubState::ToOpen));
        let mut change = self.rtc.sdp_api();
        for sub in self.subs.values_mut() {
            match sub.state {
                SubState::Open(m) if sub.source_gone => {
                    change.stop_media(m);
                    sub.state = SubState::NegotiatingStop(m);
                }
                SubState::ToStop(m) => {
                    change.stop_media(m);
                    sub.state = SubState::NegotiatingStop(m);
                }
                SubState::ToOpen => {
                    let stream = sub.publisher.to_string();
                    let mid =
                        change.add_media(sub.kind, Direction::SendOnly, Some(stream), None, None);
                    sub.state = SubState::Negotiating(mid);
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            return None;
        }
        let applied = change.apply();
        self.drain(now);
        let (offer, pending) = applied?;
        self.pending = Some((pending, now));
        Some(offer.to_sdp_string())
    }

    pub fn handle_receive(&mut self, now: Instant, recv: Receive<'_>) {
        self.last_rx = now;
        if let Err(e) = self.rtc.handle_input(Input::Receive(now, recv)) {
            debug!(participant = %self.id, "input rejected: {e}");
        }
        self.drain(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_timeout {
            return;
        }
        self.feed_timeout(now);
        self.drain(now);
    }

    /// Lets str0m act on the time; a connection that fails to is closed.
    fn feed_timeout(&mut self, now: Instant) {
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            warn!(participant = %self.id, "timeout handling failed: {e}");
            self.rtc.disconnect();
        }
    }

    /// Asks this participant (as publisher) for a keyframe on `mid`/`rid`.
    pub fn request_keyframe(&mut self, now: Instant, mid: Mid, rid: Option<Rid>) {
        // PLI: the engine offers and accepts it with every video codec, and
        // every browser sends keyframes for it.
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_rx_by_mid(mid, rid) else {
            debug!(participant = %self.id, "keyframe request for a stream not seen yet");
            return;
        };
        stream.request_keyframe(KeyframeRequestKind::Pli);
        self.drain(now);
    }

    /// Tells BWE how much we would like to send, so it probes that far.
    pub fn set_desired_bitrate(&mut self, now: Instant, current_bps: u64, desired_bps: u64) {
        let desired = desired_bps.max(300_000);
        self.rtc.bwe().set_bitrate(
            Bitrate::bps(current_bps.min(desired)),
            Bitrate::bps(desired),
        );
        self.drain(now);
    }

    /// What the engine may send this participant per second, in bits.
    pub fn send_budget(&self) -> u64 {
        let estimate = self.estimate_bps.unwrap_or(INITIAL_ESTIMATE.as_u64());
        self.bitrate_cap.map_or(estimate, |cap| estimate.min(cap))
    }

    pub fn source_of(&self, out_mid: Mid) -> Option<TrackKey> {
        self.sub_by_mid.get(&out_mid).copied()
    }

    /// Starts a graceful close (RTCP BYE, DTLS close_notify).
    pub fn close(&mut self, now: Instant) {
        if self.rtc.close().is_err() {
            self.rtc.disconnect();
        }
        self.drain(now);
    }

    /// Drains what forwarded packets queued, if any. A write only queues a
    /// packet in str0m; several writes can share one drain.
    pub fn send_written(&mut self, now: Instant) {
        if self.unsent {
            self.drain(now);
        }
    }

    /// Drains `poll_output` until a timeout, as str0m requires after every change.
    /// A timeout due now or within `DUE_SOON` is handled here and draining
    /// goes on: str0m's pacer releases one packet per timeout and then asks
    /// for another 1 µs later, so leaving those to the worker's next pass
    /// spaced a subscriber's queued packets one pass (at least 100 µs) apart.
    /// The pacer's budget still decides how many go at once.
    fn drain(&mut self, now: Instant) {
        self.unsent = false;
        let due_by = now + DUE_SOON;
        let mut due_again = 0;
        loop {
            if !self.rtc.is_alive() {
                self.next_timeout = now + Duration::from_secs(3600);
                return;
            }
            let out = match self.rtc.poll_output() {
                Ok(o) => o,
                Err(e) => {
                    warn!(participant = %self.id, "connection failed: {e}");
                    self.rtc.disconnect();
                    self.found.push(Found::Failed);
                    continue;
                }
            };
            match out {
                Output::Timeout(t) if t <= due_by && due_again < MAX_DUE_AGAIN => {
                    due_again += 1;
                    // Fed `now` again, str0m's clock would not move and the
                    // pacer would not release the next packet: it gets the
                    // time it asked for, at most `DUE_SOON` ahead.
                    self.feed_timeout(t.max(now));
                }
                Output::Timeout(t) => {
                    self.next_timeout = t;
                    return;
                }
                Output::Transmit(t) => self.transmits.push(t.proto, t.destination, &t.contents),
                Output::Event(e) => self.on_event(e),
            }
        }
    }

    fn on_event(&mut self, e: RtcEvent) {
        match e {
            RtcEvent::Connected => {
                self.connected = true;
                self.found.push(Found::Connected);
            }
            RtcEvent::IceConnectionStateChange(s) => {
                // ICE-lite reports "disconnected" on short gaps; a browser may
                // restart ICE, so only our silence timeout removes anyone.
                debug!(participant = %self.id, "ice state {s:?}");
                if s == IceConnectionState::Disconnected {
                    self.connected = self.rtc.is_connected();
                }
            }
            RtcEvent::MediaAdded(m) if m.direction.is_receiving() => {
                let rids = m
                    .simulcast
                    .map(|s| s.recv.iter().map(|l| l.rid).collect())
                    .unwrap_or_default();
                self.found.push(Found::TrackAdded {
                    mid: m.mid,
                    kind: m.kind,
                    rids,
                });
            }
            RtcEvent::MediaChanged(c) => {
                if let Some(m) = self.rtc.media(c.mid) {
                    let rids = match m.rids_rx() {
                        Rids::Specific(r) => r.clone(),
                        _ => Vec::new(),
                    };
                    self.found.push(Found::TrackChanged {
                        mid: c.mid,
                        kind: m.kind(),
                        receiving: c.direction.is_receiving(),
                        rids,
                    });
                }
            }
            RtcEvent::RtpPacket(p) => {
                if let Some(pkt) = self.read_packet(p) {
                    self.found.push(Found::Rtp(pkt));
                }
            }
            RtcEvent::KeyframeRequest(r) => {
                self.found.push(Found::KeyframeWanted { out_mid: r.mid })
            }
            RtcEvent::EgressBitrateEstimate(BweKind::Twcc { estimate, .. })
            | RtcEvent::EgressBitrateEstimate(BweKind::Remb { estimate, .. }) => {
                self.estimate_bps = Some(estimate.as_u64());
            }
            RtcEvent::Closed => self.found.push(Found::Failed),
            _ => {}
        }
    }
}
