//! Simulated browsers for room tests: str0m `Rtc`s on the client side,
//! packets carried in memory, and a fake clock.
//! Unwraps here mean the test setup itself is broken, which should fail loudly.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, Frequency, MediaData, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RawPacket;
use str0m::{Candidate, Event as RtcEvent, Input, Output, Rtc};

use crate::config::{host_candidates, RoomConfig};
use crate::event::Event;
use crate::ids::{ParticipantId, RoomId};
use crate::room::Room;

pub const SERVER: &str = "127.0.0.1:3478";
/// Layers the simulated publisher sends, with each layer's frame size so a
/// subscriber can tell from a frame which layer it got.
pub const LAYERS: [(&str, usize); 3] = [("q", 300), ("h", 1200), ("f", 4000)];

pub fn room_config(silence: Duration) -> Arc<RoomConfig> {
    let server: SocketAddr = SERVER.parse().unwrap();
    Arc::new(RoomConfig {
        candidates: host_candidates(&[], server, None).unwrap(),
        silence_timeout: silence,
        max_participants: 16,
        offer_timeout: Duration::from_secs(10),
    })
}

/// A fake browser.
pub struct Client {
    pub id: ParticipantId,
    pub rtc: Rtc,
    pub addr: SocketAddr,
    pub next_timeout: Instant,
    pub audio: Option<Mid>,
    pub video: Option<Mid>,
    /// Further video tracks added by re-offers (screen share).
    pub extra_video: Vec<Mid>,
    pub simulcast: bool,
    /// Still sending anything at all (false simulates a vanished browser).
    pub online: bool,
    pub received: Vec<MediaData>,
    pub keyframe_requests: Vec<Option<Rid>>,
    /// When each of `keyframe_requests` arrived.
    pub keyframe_requested_at: Vec<Instant>,
    pub raw: Vec<String>,
    /// The RTP packets that arrived, as their headers say, in arrival order.
    pub rtp_in: Vec<RtpSeen>,
    /// Layers that owe a keyframe (requested, or never sent one).
    keyframe_due: Vec<Option<Rid>>,
    frame: u64,
    next_audio: Instant,
    next_video: Instant,
    pending: Option<SdpPendingOffer>,
}

impl Client {
    fn new(now: Instant, name: &str, port: u16, simulcast: bool) -> Client {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut rtc = Rtc::builder().enable_raw_packets(true).build(now);
        rtc.add_local_candidate(Candidate::host(addr, Protocol::Udp).unwrap());
        Client {
            id: name.into(),
            rtc,
            addr,
            next_timeout: now,
            audio: None,
            video: None,
            extra_video: Vec::new(),
            simulcast,
            online: true,
            received: Vec::new(),
            keyframe_requests: Vec::new(),
            keyframe_requested_at: Vec::new(),
            raw: Vec::new(),
            rtp_in: Vec::new(),
            keyframe_due: Vec::new(),
            frame: 0,
            next_audio: now,
            next_video: now,
            pending: None,
        }
    }

    fn offer_with_tracks(&mut self) -> String {
        let mut change = self.rtc.sdp_api();
        self.audio =
            Some(change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        let sim = self.simulcast.then(|| {
            let mut s = Simulcast::new();
            for (rid, _) in LAYERS {
                s.add_send_layer(SimulcastLayer::new(rid));
            }
            s
        });
        self.video = Some(change.add_media(MediaKind::Video, Direction::SendOnly, None, None, sim));
        let (offer, pending) = change.apply().unwrap();
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    fn accept_answer(&mut self, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).unwrap();
        let pending = self.pending.take().unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        self.keyframe_due = if self.simulcast {
            LAYERS.iter().map(|(r, _)| Some((*r).into())).collect()
        } else {
            vec![None]
        };
    }

    /// Media from `publisher` this client received, by kind.
    pub fn frames_from(&mut self, publisher: &str, kind: MediaKind) -> Vec<&MediaData> {
        let rtc = &self.rtc;
        self.received
            .iter()
            .filter(|d| {
                rtc.media(d.mid)
                    .is_some_and(|m| m.stream_id() == publisher && m.kind() == kind)
            })
            .collect()
    }

    /// Keyframes from `publisher` this client received (VP8: the first
    /// payload byte's lowest bit is 0 on a keyframe).
    pub fn keyframes_from(&mut self, publisher: &str) -> usize {
        self.frames_from(publisher, MediaKind::Video)
            .iter()
            .filter(|d| d.data[0] & 1 == 0)
            .count()
    }

    fn send_media(&mut self, now: Instant, out: &mut VecDeque<Packet>) {
        if !self.rtc.is_connected() || !self.online {
            return;
        }
        if let (Some(mid), true) = (self.audio, now >= self.next_audio) {
            self.next_audio = now + Duration::from_millis(20);
            let pt = pt_of(&self.rtc, mid, Codec::Opus);
            let time = MediaTime::new(self.frame * 960, Frequency::FORTY_EIGHT_KHZ);
            if let Some(w) = self.rtc.writer(mid) {
                let w = w.audio_level(-20, true);
                w.write(pt, now, time, vec![7u8; 60]).unwrap();
            }
            self.drain(now, out);
        }
        if let (Some(mid), true) = (self.video, now >= self.next_video) {
            self.next_video = now + Duration::from_millis(33);
            self.frame += 1;
            let pt = pt_of(&self.rtc, mid, Codec::Vp8);
            let time = MediaTime::new(self.frame * 3000, Frequency::NINETY_KHZ);
            let layers: Vec<(Option<Rid>, usize)> = if self.simulcast {
                LAYERS
                    .iter()
                    .map(|(r, s)| (Some((*r).into()), *s))
                    .collect()
            } else {
                vec![(None, 2000)]
            };
            for (rid, size) in layers {
                let key = self.keyframe_due.contains(&rid);
                self.keyframe_due.retain(|r| *r != rid);
                // A VP8 frame whose first bit is 0 is a keyframe.
                let mut data = vec![if key { 0x10 } else { 0x11 }; size];
                data[1] = self.frame as u8;
                // No writer once the engine has closed the connection.
                let Some(mut w) = self.rtc.writer(mid) else {
                    return;
                };
                if let Some(rid) = rid {
                    w = w.rid(rid);
                }
                w.write(pt, now, time, data).unwrap();
                self.drain(now, out);
            }
            self.send_extra_video(now, time, out);
        }
    }

    fn send_extra_video(&mut self, now: Instant, time: MediaTime, out: &mut VecDeque<Packet>) {
        for mid in self.extra_video.clone() {
            let pt = pt_of(&self.rtc, mid, Codec::Vp8);
            let key = self.frame % 30 == 1;
            let data = vec![if key { 0x10 } else { 0x11 }; 800];
            if let Some(w) = self.rtc.writer(mid) {
                w.write(pt, now, time, data).unwrap();
            }
            self.drain(now, out);
        }
    }

    fn drain(&mut self, now: Instant, out: &mut VecDeque<Packet>) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    self.next_timeout = t.max(now);
                    return;
                }
                Output::Transmit(t) => {
                    if self.online {
                        out.push_back(Packet {
                            from: self.addr,
                            to: t.destination,
                            data: t.contents.into(),
                        });
                    }
                }
                Output::Event(e) => match e {
                    RtcEvent::MediaData(d) => self.received.push(d),
                    RtcEvent::KeyframeRequest(r) => {
                        self.keyframe_requests.push(r.rid);
                        self.keyframe_requested_at.push(now);
                        if !self.keyframe_due.contains(&r.rid) {
                            self.keyframe_due.push(r.rid);
                        }
                    }
                    RtcEvent::RawPacket(p) => {
                        if let RawPacket::RtpRx(h, data) = &*p {
                            self.rtp_in.push(RtpSeen {
                                ssrc: *h.ssrc,
                                pt: *h.payload_type,
                                seq: h.sequence_number,
                                time: h.timestamp,
                                len: data.len(),
                                at: now,
                            });
                        }
                        self.raw.push(format!("{p:?}"));
                    }
                    _ => {}
                },
            }
        }
    }
}

pub fn pt_of(rtc: &Rtc, _mid: Mid, codec: Codec) -> str0m::media::Pt {
    rtc.codec_config()
        .params()
        .iter()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
        .unwrap()
}

/// One received RTP packet's header fields, and its payload size.
#[derive(Debug, Clone, Copy)]
pub struct RtpSeen {
    pub ssrc: u32,
    pub pt: u8,
    pub seq: u16,
    pub time: u32,
    pub len: usize,
    /// When it arrived (the simulated clock).
    pub at: Instant,
}

pub struct Packet {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub data: Vec<u8>,
}

/// A room and its simulated browsers on one fake clock.
pub struct Sim {
    pub now: Instant,
    pub room: Room,
    pub clients: Vec<Client>,
    pub events: Vec<Event>,
    /// Decide whether a server→client / client→server packet is lost.
    pub lose_down: Box<dyn FnMut(&Packet) -> bool>,
    pub lose_up: Box<dyn FnMut(&Packet) -> bool>,
    /// Browsers that ignore the engine's offers (busy with their own, as an
    /// "impolite" browser does in glare); all others answer at once.
    pub ignore_offers: Vec<ParticipantId>,
    /// How often the room's due timeouts are handled (the worker's passes):
    /// every simulated millisecond unless a test spaces them out.
    pub timeout_pass: Duration,
    next_pass: Instant,
    to_server: VecDeque<Packet>,
    to_clients: VecDeque<Packet>,
}

impl Sim {
    pub fn new(silence: Duration) -> Sim {
        let now = Instant::now();
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        Sim {
            now,
            room: Room::new(RoomId::from("r1"), room_config(silence), crypto, now),
            clients: Vec::new(),
            events: Vec::new(),
            lose_down: Box::new(|_| false),
            lose_up: Box::new(|_| false),
            ignore_offers: Vec::new(),
            timeout_pass: Duration::from_millis(1),
            next_pass: now,
            to_server: VecDeque::new(),
            to_clients: VecDeque::new(),
        }
    }

    /// A browser joins with audio and video (simulcast if asked); returns its index.
    pub fn join(&mut self, name: &str, simulcast: bool) -> usize {
        self.join_as(name, simulcast, false)
    }

    /// As `join`, held until `admit` (a waiting room) when `held`.
    pub fn join_as(&mut self, name: &str, simulcast: bool, held: bool) -> usize {
        let port = 40000 + self.clients.len() as u16;
        let mut c = Client::new(self.now, name, port, simulcast);
        let offer = c.offer_with_tracks();
        let answer = self
            .room
            .join_as(self.now, c.id.clone(), &offer, held)
            .expect("join");
        c.accept_answer(&answer);
        c.drain(self.now, &mut self.to_server);
        self.clients.push(c);
        self.flush();
        self.clients.len() - 1
    }

    /// Lets a held participant in, as the app does at admission.
    pub fn admit(&mut self, name: &str) {
        self.room.admit(self.now, &name.into()).unwrap();
        self.flush();
    }

    pub fn client(&mut self, name: &str) -> &mut Client {
        self.clients
            .iter_mut()
            .find(|c| c.id.as_str() == name)
            .unwrap()
    }

    /// Moves the room's output to the simulated network and the event log.
    pub fn flush(&mut self) {
        for (_, to, contents) in self.room.transmits.iter() {
            self.to_clients.push_back(Packet {
                from: SERVER.parse().unwrap(),
                to,
                data: contents.to_vec(),
            });
        }
        self.room.transmits.clear();
        self.room.routes.clear();
        let events: Vec<Event> = self.room.events.drain(..).collect();
        for e in events {
            if let Event::Offer {
                participant, sdp, ..
            } = &e
            {
                if !self.ignore_offers.contains(participant) {
                    self.answer_offer(participant.clone(), sdp);
                }
            }
            self.events.push(e);
        }
    }

    fn answer_offer(&mut self, who: ParticipantId, sdp: &str) {
        let now = self.now;
        let Some(c) = self.clients.iter_mut().find(|c| c.id == who) else {
            return;
        };
        let offer = SdpOffer::from_sdp_string(sdp).unwrap();
        let answer = c.rtc.sdp_api().accept_offer(offer).unwrap();
        c.drain(now, &mut self.to_server);
        self.room
            .answer(now, &who, &answer.to_sdp_string())
            .expect("answer");
        self.flush();
    }

    /// The browser adds a second video track (screen share) and re-offers.
    /// Like a browser in the "impolite" role, it ignores any unanswered offer
    /// of ours: str0m's own client simply replaces it.
    pub fn add_screen_share(&mut self, name: &str) {
        let now = self.now;
        let c = self
            .clients
            .iter_mut()
            .find(|c| c.id.as_str() == name)
            .unwrap();
        let mut change = c.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        c.drain(now, &mut self.to_server);
        let who = c.id.clone();
        let answer = self
            .room
            .offer(now, &who, &offer.to_sdp_string())
            .expect("re-offer");
        let c = self
            .clients
            .iter_mut()
            .find(|c| c.id.as_str() == name)
            .unwrap();
        let answer = SdpAnswer::from_sdp_string(&answer).unwrap();
        c.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        c.extra_video.push(mid);
        c.drain(now, &mut self.to_server);
        self.flush();
    }

    /// The browser restarts ICE (e.g. after a network change); returns the
    /// engine's ufrag before and after.
    pub fn ice_restart(&mut self, name: &str) -> (String, String) {
        let now = self.now;
        let c = self
            .clients
            .iter_mut()
            .find(|c| c.id.as_str() == name)
            .unwrap();
        let mut change = c.rtc.sdp_api();
        change.ice_restart(true);
        let (offer, pending) = change.apply().unwrap();
        c.drain(now, &mut self.to_server);
        let who = c.id.clone();
        let key = self.room.key_of(&who).unwrap();
        let before = self.room.ufrag_of(key).unwrap();
        let answer = self
            .room
            .offer(now, &who, &offer.to_sdp_string())
            .expect("re-offer");
        let after = self.room.ufrag_of(key).unwrap();
        assert!(
            self.room.routes.contains(&crate::room::RouteChange::Add {
                key,
                ufrag: after.clone()
            }),
            "the router learns the new ufrag"
        );
        let c = self
            .clients
            .iter_mut()
            .find(|c| c.id.as_str() == name)
            .unwrap();
        let answer = SdpAnswer::from_sdp_string(&answer).unwrap();
        c.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        c.drain(now, &mut self.to_server);
        self.flush();
        (before, after)
    }

    /// The browser stops its screen share (direction inactive) and re-offers.
    pub fn stop_screen_share(&mut self, name: &str) {
        let now = self.now;
        let c = self
            .clients
            .iter_mut()
            .find(|c| c.id.as_str() == name)
            .unwrap();
        let mid = c.extra_video.pop().unwrap();
        let mut change = c.rtc.sdp_api();
        change.set_direction(mid, Direction::Inactive);
        let (offer, pending) = change.apply().unwrap();
        c.drain(now, &mut self.to_server);
        let who = c.id.clone();
        let answer = self
            .room
            .offer(now, &who, &offer.to_sdp_string())
            .expect("re-offer");
        let c = self
            .clients
            .iter_mut()
            .find(|c| c.id.as_str() == name)
            .unwrap();
        let answer = SdpAnswer::from_sdp_string(&answer).unwrap();
        c.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        c.drain(now, &mut self.to_server);
        self.flush();
    }

    /// Advances the clock in 1 ms steps for `d`, delivering packets and media.
    pub fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step();
            self.now += Duration::from_millis(1);
        }
    }

    fn step(&mut self) {
        let now = self.now;
        while let Some(p) = self.to_server.pop_front() {
            if (self.lose_up)(&p) {
                continue;
            }
            let Some(c) = self.clients.iter().find(|c| c.addr == p.from) else {
                continue;
            };
            if !c.online {
                continue;
            }
            let Some(key) = self.room.key_of(&c.id) else {
                continue;
            };
            let Ok(contents) = p.data.as_slice().try_into() else {
                continue;
            };
            let recv = Receive {
                proto: Protocol::Udp,
                source: p.from,
                destination: p.to,
                contents,
            };
            self.room.handle_receive(now, key, recv);
            self.flush();
        }
        self.room.send_received(now);
        self.flush();
        while let Some(p) = self.to_clients.pop_front() {
            if (self.lose_down)(&p) {
                continue;
            }
            let Some(c) = self.clients.iter_mut().find(|c| c.addr == p.to) else {
                continue;
            };
            if !c.online {
                continue;
            }
            let recv = Receive {
                proto: Protocol::Udp,
                source: p.from,
                destination: p.to,
                contents: p.data.as_slice().try_into().unwrap(),
            };
            c.rtc.handle_input(Input::Receive(now, recv)).unwrap();
            c.drain(now, &mut self.to_server);
        }
        for c in &mut self.clients {
            if c.online && c.next_timeout <= now {
                c.rtc.handle_input(Input::Timeout(now)).unwrap();
                c.drain(now, &mut self.to_server);
            }
            c.send_media(now, &mut self.to_server);
        }
        if now >= self.next_pass && self.room.poll_timeout() <= now {
            self.next_pass = now + self.timeout_pass;
            self.room.handle_timeout(now);
            self.flush();
        }
    }
}
