//! A room: its participants, the tracks they publish, and forwarding between them.
//!
//! Sans-IO like str0m: the worker feeds it packets and time, then takes
//! `transmits`, `events` and `routes`. Tests drive it the same way with a fake clock.

use std::collections::HashMap;
use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::config::CryptoProvider;
use str0m::media::{MediaKind, Rid};
use str0m::net::Receive;
use tracing::{debug, info, warn};

use crate::config::RoomConfig;
use crate::error::SfuError;
use crate::event::{DisconnectReason, Event};
use crate::ids::{ParticipantId, PeerKey, RoomId, TrackKind};
use crate::participant::{Found, Participant, SubState, Subscription, TrackKey};
use crate::simulcast::Layers;
use crate::speaker::SpeakerDetector;
use crate::traffic::Forwarded;
use crate::transmits::Transmits;

mod forwarding;
mod keyframes;
mod limits;

use keyframes::KeyframeThrottle;

/// Housekeeping period: silence checks, layer choice, speaker, offers.
const TICK: Duration = Duration::from_millis(250);
/// Bandwidth kept aside per forwarded audio track when sharing out the estimate.
const AUDIO_BPS: u64 = 40_000;

/// A change for the packet router: which ICE ufrag leads to which connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteChange {
    Add { key: PeerKey, ufrag: String },
    Remove { key: PeerKey },
}

/// A published track as the room sees it.
struct Source {
    kind: MediaKind,
    layers: Option<Layers>,
    keyframes: KeyframeThrottle,
    /// Publication order within the room: a publisher's oldest tracks are
    /// the ones forwarded when it has more than it may (see `limits.rs`).
    seq: u64,
    /// Whether this track is within its publisher's limits and goes out.
    forwarded: bool,
}

pub(crate) struct Room {
    pub id: RoomId,
    cfg: Arc<RoomConfig>,
    crypto: Arc<CryptoProvider>,
    participants: HashMap<PeerKey, Participant>,
    by_id: HashMap<ParticipantId, PeerKey>,
    sources: HashMap<TrackKey, Source>,
    next_source: u64,
    speaker: SpeakerDetector,
    next_tick: Instant,
    pub events: Vec<Event>,
    pub transmits: Transmits,
    pub routes: Vec<RouteChange>,
    /// Scratch for `settle`, kept to reuse its allocation.
    work: Vec<(PeerKey, Found)>,
}

impl Room {
    pub fn new(
        id: RoomId,
        cfg: Arc<RoomConfig>,
        crypto: Arc<CryptoProvider>,
        now: Instant,
    ) -> Room {
        Room {
            id,
            cfg,
            crypto,
            participants: HashMap::new(),
            by_id: HashMap::new(),
            sources: HashMap::new(),
            next_source: 0,
            speaker: SpeakerDetector::default(),
            next_tick: now + TICK,
            events: Vec::new(),
            transmits: Transmits::default(),
            routes: Vec::new(),
            work: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
    }

    /// People in the room, admitted or waiting.
    pub fn participants(&self) -> usize {
        self.participants.len()
    }

    pub fn key_of(&self, who: &ParticipantId) -> Option<PeerKey> {
        self.by_id.get(who).copied()
    }

    fn participant_mut(&mut self, who: &ParticipantId) -> Result<&mut Participant, SfuError> {
        let key = self.key_of(who).ok_or(SfuError::NoSuchParticipant)?;
        self.participants
            .get_mut(&key)
            .ok_or(SfuError::NoSuchParticipant)
    }

    /// Adds a participant from their browser's offer; returns our answer.
    /// A bad offer leaves the room exactly as it was.
    #[cfg(test)]
    pub fn join(
        &mut self,
        now: Instant,
        who: ParticipantId,
        offer: &str,
    ) -> Result<String, SfuError> {
        self.join_as(now, who, offer, false)
    }

    /// Adds a participant from their browser's offer; returns our answer.
    /// A bad offer leaves the room exactly as it was. `held` keeps the
    /// participant out of the room's media until `admit`: a waiting room
    /// whose connection (ICE, DTLS) is ready when the therapist lets them in.
    pub fn join_as(
        &mut self,
        now: Instant,
        who: ParticipantId,
        offer: &str,
        held: bool,
    ) -> Result<String, SfuError> {
        if self.by_id.contains_key(&who) {
            return Err(SfuError::AlreadyJoined);
        }
        if self.participants.len() >= self.cfg.max_participants {
            return Err(SfuError::RoomFull);
        }
        let key = PeerKey::next();
        let mut p = Participant::new(now, key, who.clone(), &self.cfg.candidates, &self.crypto);
        let answer = p.accept_offer(now, offer)?;
        p.held = held;
        // Everything already published in the room is offered to the
        // newcomer; a held one receives none of it until admitted.
        self.subscribe_to_room(&mut p);
        self.routes.push(RouteChange::Add {
            key,
            ufrag: p.ufrag.clone(),
        });
        info!(room = %self.id, participant = %who, held, "joined");
        self.by_id.insert(who, key);
        self.participants.insert(key, p);
        self.settle(now);
        Ok(answer)
    }

    /// Lets a held participant in: from now on they receive the room's
    /// tracks and the others receive theirs. The room's tracks were
    /// negotiated while they waited, so each starts at once from a keyframe;
    /// their own go to the others by offer. Admitting someone not held
    /// changes nothing.
    pub fn admit(&mut self, now: Instant, who: &ParticipantId) -> Result<(), SfuError> {
        let p = self.participant_mut(who)?;
        if !mem::replace(&mut p.held, false) {
            return Ok(());
        }
        let (key, open) = (p.key, open_subs(p));
        info!(room = %self.id, participant = %who, "admitted");
        // Tracks still being negotiated start when the answer comes.
        for tk in open {
            self.start_subscription(now, key, tk);
        }
        // Their own tracks, published while they waited, go out now.
        self.sync_subscriptions();
        self.send_offers(now);
        self.settle(now);
        Ok(())
    }

    /// Whether `key` is in the room's media: joined and not held.
    pub(super) fn is_in(&self, key: PeerKey) -> bool {
        self.participants.get(&key).is_some_and(|p| !p.held)
    }

    /// Subscribes `p` to every forwarded track of the admitted others.
    fn subscribe_to_room(&self, p: &mut Participant) {
        for (tk, source) in self.sources.iter().filter(|(_, s)| s.forwarded) {
            if !self.is_in(tk.peer) {
                continue;
            }
            if let Some(publisher) = self.participants.get(&tk.peer) {
                p.subs
                    .insert(*tk, new_subscription(source.kind, &publisher.id));
            }
        }
    }

    /// The browser answers our offer.
    pub fn answer(&mut self, now: Instant, who: &ParticipantId, sdp: &str) -> Result<(), SfuError> {
        let p = self.participant_mut(who)?;
        let before: Vec<TrackKey> = open_subs(p);
        let result = p.accept_answer(now, sdp);
        if p.poisoned {
            return self.drop_poisoned(now, who, result);
        }
        let p = self.participant_mut(who)?;
        let opened: Vec<TrackKey> = open_subs(p)
            .into_iter()
            .filter(|tk| !before.contains(tk))
            .collect();
        let key = p.key;
        for tk in opened {
            self.start_subscription(now, key, tk);
        }
        // Changes that came while this offer was out go now, not at the
        // next tick: a track published meanwhile would wait up to 250 ms.
        self.send_offers(now);
        self.settle(now);
        result
    }

    /// The browser offers (new track, screen share, ICE restart); returns our answer.
    pub fn offer(
        &mut self,
        now: Instant,
        who: &ParticipantId,
        sdp: &str,
    ) -> Result<String, SfuError> {
        let p = self.participant_mut(who)?;
        let old_ufrag = p.ufrag.clone();
        let result = p.accept_offer(now, sdp);
        if p.poisoned {
            return self.drop_poisoned(now, who, result).map(|()| String::new());
        }
        let p = self.participant_mut(who)?;
        if p.ufrag != old_ufrag {
            let change = RouteChange::Add {
                key: p.key,
                ufrag: p.ufrag.clone(),
            };
            self.routes.push(change);
        }
        // Our changes that the browser's offer superseded go again at once.
        // The event leaves after the answer (the reply), and the app hands
        // both to the browser in that order (see `Event::Offer`).
        self.send_offers(now);
        self.settle(now);
        result
    }

    /// A peer whose SDP made str0m panic leaves as if its connection failed;
    /// the caller gets the error.
    fn drop_poisoned<T>(
        &mut self,
        now: Instant,
        who: &ParticipantId,
        result: Result<T, SfuError>,
    ) -> Result<(), SfuError> {
        warn!(room = %self.id, participant = %who, "dropped after SDP the engine could not apply");
        if let Some(key) = self.key_of(who) {
            self.remove(now, key, DisconnectReason::Failed);
            self.send_offers(now);
            self.settle(now);
        }
        result.map(|_| ())
    }

    pub fn leave(&mut self, now: Instant, who: &ParticipantId) -> Result<(), SfuError> {
        let key = self.key_of(who).ok_or(SfuError::NoSuchParticipant)?;
        self.remove(now, key, DisconnectReason::Left);
        // Others' m-lines for the departed tracks are stopped by an offer.
        self.send_offers(now);
        self.settle(now);
        Ok(())
    }

    pub fn close(&mut self, now: Instant) {
        let keys: Vec<PeerKey> = self.participants.keys().copied().collect();
        for key in keys {
            self.remove(now, key, DisconnectReason::RoomClosed);
        }
        self.settle(now);
    }

    /// Starts or stops forwarding `who`'s audio or video to everyone else.
    pub fn set_forwarding(
        &mut self,
        now: Instant,
        who: &ParticipantId,
        kind: TrackKind,
        allowed: bool,
    ) -> Result<(), SfuError> {
        let p = self.participant_mut(who)?;
        let key = p.key;
        let was = match kind {
            TrackKind::Audio => mem::replace(&mut p.forward_audio, allowed),
            TrackKind::Video => mem::replace(&mut p.forward_video, allowed),
        };
        if kind == TrackKind::Audio && !allowed {
            self.speaker.forget(who);
        }
        if kind == TrackKind::Video && allowed && !was {
            // Subscribers need a keyframe to show the picture again.
            let tracks: Vec<(TrackKey, Option<Rid>)> = self
                .sources
                .iter()
                .filter(|(tk, s)| tk.peer == key && s.kind == MediaKind::Video && s.forwarded)
                .flat_map(|(tk, s)| match &s.layers {
                    Some(l) => l.rids.iter().map(|r| (*tk, Some(*r))).collect(),
                    None => vec![(*tk, None)],
                })
                .collect();
            for (tk, rid) in tracks {
                self.request_keyframe(now, tk, rid);
            }
        }
        self.settle(now);
        Ok(())
    }

    /// Caps the simulcast layer `who` receives (0 = lowest), e.g. for small tiles.
    pub fn set_preferred_layer(
        &mut self,
        who: &ParticipantId,
        max: Option<usize>,
    ) -> Result<(), SfuError> {
        self.participant_mut(who)?.max_layer = max;
        Ok(())
    }

    /// Starts or stops writing video to `who` (audio only). Back on, each
    /// picture starts again from a keyframe, numbered on from where it
    /// stopped, so the browser sees a pause rather than a loss.
    pub fn set_receive_video(
        &mut self,
        now: Instant,
        who: &ParticipantId,
        on: bool,
    ) -> Result<(), SfuError> {
        let p = self.participant_mut(who)?;
        if mem::replace(&mut p.receive_video, on) == on || !on {
            self.settle(now);
            return Ok(());
        }
        let key = p.key;
        let mut resumed = Vec::new();
        for (tk, sub) in p.subs.iter_mut() {
            if sub.kind == MediaKind::Video {
                sub.layers = Default::default();
                sub.rebase = true;
                resumed.push(*tk);
            }
        }
        for tk in resumed {
            self.start_subscription(now, key, tk);
        }
        self.settle(now);
        Ok(())
    }

    /// What the engine has written to `who` since they joined.
    pub fn forwarded_to(&self, who: &ParticipantId) -> Result<Forwarded, SfuError> {
        let key = self.key_of(who).ok_or(SfuError::NoSuchParticipant)?;
        self.participants
            .get(&key)
            .map(|p| p.forwarded)
            .ok_or(SfuError::NoSuchParticipant)
    }

    #[cfg(test)]
    pub fn ufrag_of(&self, key: PeerKey) -> Option<String> {
        self.participants.get(&key).map(|p| p.ufrag.clone())
    }

    /// The simulcast layer `subscriber` is to get of `publisher`'s camera.
    #[cfg(test)]
    pub fn layer_target(
        &self,
        subscriber: &ParticipantId,
        publisher: &ParticipantId,
    ) -> Option<usize> {
        let publisher = *self.by_id.get(publisher)?;
        let p = self.participants.get(self.by_id.get(subscriber)?)?;
        p.subs
            .iter()
            .find(|(tk, s)| tk.peer == publisher && s.kind == MediaKind::Video)
            .and_then(|(_, s)| s.layers.target)
    }

    #[cfg(test)]
    pub fn cap_bitrate(&mut self, who: &ParticipantId, bps: Option<u64>) {
        if let Ok(p) = self.participant_mut(who) {
            p.bitrate_cap = bps;
        }
    }

    /// Takes one datagram. What it forwards waits in the subscribers' send
    /// queues until `send_received`: the worker takes every packet that is
    /// already waiting, then drains each subscriber once for all of them.
    /// str0m's bookkeeping per drain walks all of a connection's streams, so
    /// this is most of what a burst saves (docs/engine-profile.md).
    pub fn handle_receive(&mut self, now: Instant, key: PeerKey, recv: Receive<'_>) {
        let Some(p) = self.participants.get_mut(&key) else {
            return;
        };
        p.handle_receive(now, recv);
        self.settle_found(now, false);
    }

    /// Sends what `handle_receive` left queued.
    pub fn send_received(&mut self, now: Instant) {
        self.settle(now);
    }

    pub fn poll_timeout(&self) -> Instant {
        // A deferred keyframe request is due when its throttle window ends,
        // which may be well before the next tick.
        self.participants
            .values()
            .map(|p| p.next_timeout)
            .chain(self.keyframe_deadline())
            .fold(self.next_tick, Instant::min)
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        // Before the participants' timeouts, which then send them as RTCP.
        self.send_due_keyframes(now);
        for p in self.participants.values_mut() {
            p.handle_timeout(now);
        }
        if now >= self.next_tick {
            self.next_tick = now + TICK;
            self.tick(now);
        }
        self.settle(now);
    }

    fn tick(&mut self, now: Instant) {
        let silent: Vec<PeerKey> = self
            .participants
            .values()
            .filter(|p| now.saturating_duration_since(p.last_rx) >= self.cfg.silence_timeout)
            .map(|p| p.key)
            .collect();
        for key in silent {
            info!(room = %self.id, "participant silent too long, removing");
            self.remove(now, key, DisconnectReason::Timeout);
        }
        // Re-opens tracks allowed again while their old m-lines were stopping.
        self.sync_subscriptions();
        self.choose_layers(now);
        if let Some(speaker) = self.speaker.evaluate(now) {
            self.events.push(Event::ActiveSpeaker {
                room: self.id.clone(),
                participant: speaker,
            });
        }
        self.send_offers(now);
    }

    fn send_offers(&mut self, now: Instant) {
        for p in self.participants.values_mut() {
            if let Some(sdp) = p.make_offer(now, self.cfg.offer_timeout) {
                debug!(room = %self.id, participant = %p.id, "offering forwarded tracks");
                self.events.push(Event::Offer {
                    room: self.id.clone(),
                    participant: p.id.clone(),
                    sdp,
                });
            }
        }
    }

    fn remove(&mut self, now: Instant, key: PeerKey, reason: DisconnectReason) {
        let Some(mut p) = self.participants.remove(&key) else {
            return;
        };
        p.close(now);
        self.transmits.append(&mut p.transmits);
        self.by_id.remove(&p.id);
        self.routes.push(RouteChange::Remove { key });
        self.sources.retain(|tk, _| tk.peer != key);
        for other in self.participants.values_mut() {
            for (tk, sub) in other.subs.iter_mut() {
                if tk.peer == key {
                    sub.source_gone = true;
                }
            }
        }
        self.speaker.forget(&p.id);
        info!(room = %self.id, participant = %p.id, ?reason, "left");
        self.events.push(Event::Disconnected {
            room: self.id.clone(),
            participant: p.id,
            reason,
        });
    }

    /// Acts on what the participants' drains found until nothing new turns up
    /// (forwarding to one participant can make its `Rtc` report more).
    fn settle(&mut self, now: Instant) {
        self.settle_found(now, true);
    }

    /// `settle` that may leave packets written to subscribers in their send
    /// queues (`send_writes` false): the worker sends a batch's at once.
    fn settle_found(&mut self, now: Instant, send_writes: bool) {
        // One buffer for the whole life of the room: no allocation per packet.
        let mut work = mem::take(&mut self.work);
        loop {
            for p in self.participants.values_mut() {
                if send_writes {
                    p.send_written(now);
                }
                work.extend(p.found.drain(..).map(|f| (p.key, f)));
                self.transmits.append(&mut p.transmits);
            }
            if work.is_empty() {
                break;
            }
            for (key, found) in work.drain(..) {
                self.on_found(now, key, found);
            }
        }
        self.work = work;
    }

    fn on_found(&mut self, now: Instant, key: PeerKey, found: Found) {
        match found {
            Found::Rtp(pkt) => self.forward(now, key, pkt),
            Found::KeyframeWanted { out_mid } => {
                // A held one receives nothing, so has nothing to repair.
                let Some(p) = self.participants.get(&key).filter(|p| !p.held) else {
                    return;
                };
                let Some(tk) = p.source_of(out_mid) else {
                    return;
                };
                // The layer it is on or switching to: a keyframe there repairs
                // the picture or completes the switch, and before the first
                // picture only the target has been chosen.
                let rid = match (p.subs.get(&tk), self.sources.get(&tk)) {
                    (
                        Some(sub),
                        Some(Source {
                            layers: Some(l), ..
                        }),
                    ) => sub.layers.target.and_then(|t| l.rids.get(t).copied()),
                    _ => None,
                };
                self.request_keyframe(now, tk, rid);
            }
            Found::Connected => {
                if let Some(p) = self.participants.get(&key) {
                    self.events.push(Event::Connected {
                        room: self.id.clone(),
                        participant: p.id.clone(),
                    });
                }
                self.send_offers(now);
            }
            Found::Failed => {
                self.remove(now, key, DisconnectReason::Failed);
                self.send_offers(now);
            }
            Found::TrackAdded { mid, kind, rids } => self.add_source(now, key, mid, kind, rids),
            Found::TrackChanged {
                mid,
                kind,
                receiving,
                rids,
            } => {
                let tk = TrackKey { peer: key, mid };
                if receiving && !self.sources.contains_key(&tk) {
                    self.add_source(now, key, mid, kind, rids);
                } else if !receiving && self.sources.contains_key(&tk) {
                    self.remove_source(now, tk);
                }
            }
        }
    }

    fn add_source(
        &mut self,
        now: Instant,
        key: PeerKey,
        mid: str0m::media::Mid,
        kind: MediaKind,
        rids: Vec<Rid>,
    ) {
        let Some(publisher) = self.participants.get(&key) else {
            return;
        };
        let publisher_id = publisher.id.clone();
        let tk = TrackKey { peer: key, mid };
        if self.sources.contains_key(&tk) {
            return;
        }
        let layers = (kind == MediaKind::Video && rids.len() > 1).then(|| Layers::new(&rids));
        let forwarded = self.fits_limit(key, kind);
        self.events.push(Event::TrackPublished {
            room: self.id.clone(),
            participant: publisher_id.clone(),
            mid: mid.to_string(),
            kind: kind.into(),
            rids: layers
                .as_ref()
                .map(|l| l.rids.iter().map(|r| r.to_string()).collect())
                .unwrap_or_default(),
        });
        self.sources.insert(
            tk,
            Source {
                kind,
                layers,
                keyframes: KeyframeThrottle::default(),
                seq: self.next_source,
                forwarded,
            },
        );
        self.next_source += 1;
        if !forwarded {
            debug!(room = %self.id, participant = %publisher_id, "track beyond the limit held back");
            return;
        }
        if !self.is_in(key) {
            // Subscribed to at admission.
            return;
        }
        // Held ones too: negotiated now, written to once admitted.
        for (k, p) in self.participants.iter_mut() {
            if *k != key {
                p.subs.insert(tk, new_subscription(kind, &publisher_id));
            }
        }
        self.send_offers(now);
    }

    fn remove_source(&mut self, now: Instant, tk: TrackKey) {
        self.sources.remove(&tk);
        for p in self.participants.values_mut() {
            if let Some(sub) = p.subs.get_mut(&tk) {
                sub.source_gone = true;
            }
        }
        if let Some(p) = self.participants.get(&tk.peer) {
            self.events.push(Event::TrackUnpublished {
                room: self.id.clone(),
                participant: p.id.clone(),
                mid: tk.mid.to_string(),
            });
        }
        self.send_offers(now);
    }
}

fn new_subscription(kind: MediaKind, publisher: &ParticipantId) -> Subscription {
    Subscription {
        kind,
        publisher: publisher.clone(),
        state: SubState::ToOpen,
        source_gone: false,
        layers: Default::default(),
        rewrite: Default::default(),
        rebase: true,
        out: Default::default(),
    }
}

fn open_subs(p: &Participant) -> Vec<TrackKey> {
    p.subs
        .iter()
        .filter(|(_, s)| matches!(s.state, SubState::Open(_)))
        .map(|(k, _)| *k)
        .collect()
}
