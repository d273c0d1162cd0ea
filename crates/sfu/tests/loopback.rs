//! End to end over real loopback sockets: str0m "browsers" join a room
//! through `Sfu::start` (UDP, and ICE-TCP) and receive each other's media.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use regroup_sfu::{Event, Sfu, SfuConfig, SfuError, SfuHandle};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Event as RtcEvent, Input, Output, Rtc};
use tokio::runtime::Runtime;

enum Transport {
    Udp(UdpSocket),
    /// Active ICE-TCP with a buffer for RFC 4571 framing.
    Tcp(TcpStream, Vec<u8>),
}

impl Transport {
    fn send(&mut self, to: SocketAddr, data: &[u8]) {
        match self {
            Transport::Udp(s) => drop(s.send_to(data, to)),
            Transport::Tcp(s, _) => {
                let mut framed = (data.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(data);
                s.write_all(&framed).unwrap();
            }
        }
    }

    fn recv(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        match self {
            Transport::Udp(s) => {
                while let Ok((n, from)) = s.recv_from(&mut buf) {
                    out.push((from, buf[..n].to_vec()));
                }
            }
            Transport::Tcp(s, pending) => {
                let peer = s.peer_addr().unwrap();
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("tcp read: {e}"),
                    }
                }
                while pending.len() >= 2 {
                    let n = u16::from_be_bytes([pending[0], pending[1]]) as usize;
                    if pending.len() < 2 + n {
                        break;
                    }
                    out.push((peer, pending[2..2 + n].to_vec()));
                    pending.drain(..2 + n);
                }
            }
        }
        out
    }
}

struct Browser {
    name: String,
    rtc: Rtc,
    net: Transport,
    proto: Protocol,
    local: SocketAddr,
    audio: Mid,
    video: Mid,
    pending: Option<SdpPendingOffer>,
    next_frame: Instant,
    frame: u64,
    got: Vec<(String, MediaKind)>,
}

impl Browser {
    fn new(name: &str, net: Transport) -> (Browser, String) {
        let (local, candidate, proto) = match &net {
            Transport::Udp(s) => {
                let local = s.local_addr().unwrap();
                (
                    local,
                    Candidate::host(local, Protocol::Udp).unwrap(),
                    Protocol::Udp,
                )
            }
            Transport::Tcp(s, _) => {
                let local = s.local_addr().unwrap();
                let c = Candidate::builder()
                    .tcp()
                    .host(local)
                    .tcptype(TcpType::Active)
                    .build()
                    .unwrap();
                (local, c, Protocol::Tcp)
            }
        };
        let mut rtc = Rtc::new(Instant::now());
        rtc.add_local_candidate(candidate);
        let mut change = rtc.sdp_api();
        let audio = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let b = Browser {
            name: name.into(),
            rtc,
            net,
            proto,
            local,
            audio,
            video,
            pending: Some(pending),
            next_frame: Instant::now(),
            frame: 0,
            got: Vec::new(),
        };
        (b, offer.to_sdp_string())
    }

    fn accept_answer(&mut self, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).unwrap();
        let pending = self.pending.take().unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        self.drain();
    }

    fn answer_offer(&mut self, sdp: &str) -> String {
        let offer = SdpOffer::from_sdp_string(sdp).unwrap();
        let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
        self.drain();
        answer.to_sdp_string()
    }

    fn pump(&mut self) {
        for (from, data) in self.net.recv() {
            let recv = Receive {
                proto: self.proto,
                source: from,
                destination: self.local,
                contents: data.as_slice().try_into().unwrap(),
            };
            self.rtc
                .handle_input(Input::Receive(Instant::now(), recv))
                .unwrap();
            self.drain();
        }
        let now = Instant::now();
        self.rtc.handle_input(Input::Timeout(now)).unwrap();
        self.drain();
        if self.rtc.is_connected() && now >= self.next_frame {
            self.next_frame = now + Duration::from_millis(33);
            self.frame += 1;
            let pt = |c| {
                self.rtc
                    .codec_config()
                    .params()
                    .iter()
                    .find(|p| p.spec().codec == c)
                    .unwrap()
                    .pt()
            };
            let (opus, vp8) = (pt(Codec::Opus), pt(Codec::Vp8));
            let t = MediaTime::new(self.frame * 1584, Frequency::FORTY_EIGHT_KHZ);
            self.rtc
                .writer(self.audio)
                .unwrap()
                .write(opus, now, t, vec![1u8; 40])
                .unwrap();
            self.drain();
            let t = MediaTime::new(self.frame * 2970, Frequency::NINETY_KHZ);
            let key = if self.frame % 30 == 1 { 0x10 } else { 0x11 };
            self.rtc
                .writer(self.video)
                .unwrap()
                .write(vp8, now, t, vec![key; 1500])
                .unwrap();
            self.drain();
        }
    }

    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(_) => return,
                Output::Transmit(t) => self.net.send(t.destination, &t.contents),
                Output::Event(RtcEvent::MediaData(d)) => {
                    if let Some(m) = self.rtc.media(d.mid) {
                        let entry = (m.stream_id().to_owned(), m.kind());
                        if !self.got.contains(&entry) {
                            self.got.push(entry);
                        }
                    }
                }
                Output::Event(_) => {}
            }
        }
    }

    fn has_media_from(&self, other: &str) -> bool {
        [MediaKind::Audio, MediaKind::Video]
            .iter()
            .all(|k| self.got.contains(&(other.to_owned(), *k)))
    }
}

fn start() -> (SfuHandle, regroup_sfu::EventReceiver, Runtime) {
    let cfg = SfuConfig {
        udp_addr: "127.0.0.1:0".parse().unwrap(),
        tcp_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..SfuConfig::default()
    };
    let (sfu, events) = Sfu::start(cfg).unwrap();
    assert_ne!(
        sfu.udp_addr().port(),
        0,
        "port 0 resolves to the bound port"
    );
    (sfu, events, Runtime::new().unwrap())
}

/// Pumps browsers and the event channel until every browser has audio and
/// video from every other, or the deadline passes.
fn run_until_all_receive(
    sfu: &SfuHandle,
    events: &mut regroup_sfu::EventReceiver,
    rt: &Runtime,
    browsers: &mut [Browser],
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for b in browsers.iter_mut() {
            b.pump();
        }
        while let Ok(e) = events.try_recv() {
            if let Event::Offer {
                room,
                participant,
                sdp,
            } = e
            {
                let b = browsers
                    .iter_mut()
                    .find(|b| b.name == participant.as_str())
                    .unwrap();
                let answer = b.answer_offer(&sdp);
                rt.block_on(sfu.answer(room, participant, answer)).unwrap();
            }
        }
        let names: Vec<String> = browsers.iter().map(|b| b.name.clone()).collect();
        let done = browsers.iter().all(|b| {
            names
                .iter()
                .filter(|n| **n != b.name)
                .all(|n| b.has_media_from(n))
        });
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "media did not flow: {:?}",
            browsers.iter().map(|b| &b.got).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn two_browsers_exchange_media_over_loopback_udp() {
    let (sfu, mut events, rt) = start();
    let mut browsers = Vec::new();
    for name in ["alice", "bob"] {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_nonblocking(true).unwrap();
        let (mut b, offer) = Browser::new(name, Transport::Udp(sock));
        let answer = rt.block_on(sfu.join("room-1", name, offer)).unwrap();
        b.accept_answer(&answer);
        browsers.push(b);
    }
    let bad = rt.block_on(sfu.join("room-1", "mallory", "v=0 garbage"));
    assert!(matches!(bad, Err(SfuError::InvalidSdp(_))), "{bad:?}");
    run_until_all_receive(&sfu, &mut events, &rt, &mut browsers);
    // The operators' counters saw the media both ways.
    let traffic = sfu.traffic();
    assert!(
        traffic.packets_in > 10 && traffic.packets_out > 10,
        "{traffic:?}"
    );
    assert!(traffic.bytes_in > traffic.packets_in * 20, "{traffic:?}");
    assert!(traffic.bytes_out > traffic.packets_out * 20, "{traffic:?}");
    rt.block_on(sfu.close_room("room-1")).unwrap();
    let again = rt.block_on(sfu.leave("room-1", "alice"));
    assert_eq!(again, Err(SfuError::NoSuchRoom));
    sfu.shutdown();
}

#[test]
fn a_browser_without_udp_gets_media_over_ice_tcp() {
    let (sfu, mut events, rt) = start();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_nonblocking(true).unwrap();
    let (mut udp, offer) = Browser::new("udp", Transport::Udp(sock));
    udp.accept_answer(&rt.block_on(sfu.join("room-2", "udp", offer)).unwrap());
    let stream = TcpStream::connect(sfu.tcp_addr().unwrap()).unwrap();
    stream.set_nonblocking(true).unwrap();
    let (mut tcp, offer) = Browser::new("tcp", Transport::Tcp(stream, Vec::new()));
    tcp.accept_answer(&rt.block_on(sfu.join("room-2", "tcp", offer)).unwrap());
    let mut browsers = vec![udp, tcp];
    run_until_all_receive(&sfu, &mut events, &rt, &mut browsers);
    sfu.shutdown();
}
