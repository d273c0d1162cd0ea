//! One synthetic participant: a client-side str0m `Rtc` on its own UDP
//! socket, publishing audio and a (simulcast) camera and receiving everyone
//! else, driven by its own thread as a browser would be. Against Janus a
//! participant has two of them: a publisher and a subscriber connection.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::oneshot;

use crate::media::{layer_of, stamp_of, Encoder, Frame, LAYERS};
use crate::stats::{peer_name, Counters, Stream};

/// Longest a peer sleeps in its socket, so it notices offers and `stop`.
const MAX_WAIT: Duration = Duration::from_millis(10);
/// Largest datagram the engine sends (it stays under the usual MTU).
const MAX_DATAGRAM: usize = 2048;

/// What the bench asks of a running peer.
pub enum Control {
    /// An engine offer (renegotiation); the peer replies with its answer.
    Offer(String, oneshot::Sender<anyhow::Result<String>>),
}

pub struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    /// What the peer sends; `None` for a receive-only connection.
    publish: Option<Publishing>,
    pending: Option<SdpPendingOffer>,
    next_timeout: Instant,
    stats: Arc<Mutex<Counters>>,
}

struct Publishing {
    audio: Mid,
    video: Mid,
    opus: Pt,
    vp8: Pt,
    /// True for the one participant who talks; the others send quiet audio,
    /// as in a group where one person speaks at a time.
    speaking: bool,
    encoder: Encoder,
}

/// How a publishing peer sends.
#[derive(Debug, Clone, Copy)]
pub struct PeerSetup {
    /// Index in the room; stamped into every frame.
    pub index: usize,
    pub simulcast: bool,
    /// Write the simulcast layers high to low in the offer (Janus's default
    /// `rid` order) instead of low to high.
    pub layers_high_first: bool,
    /// Address to bind and announce (loopback unless the server cannot use it).
    pub ip: IpAddr,
}

impl PeerSetup {
    pub fn new(index: usize, simulcast: bool) -> PeerSetup {
        PeerSetup {
            index,
            simulcast,
            layers_high_first: false,
            ip: IpAddr::from([127, 0, 0, 1]),
        }
    }
}

fn bind(ip: IpAddr, now: Instant) -> anyhow::Result<(Rtc, UdpSocket, SocketAddr)> {
    let socket = UdpSocket::bind((ip, 0)).context("binding a peer socket")?;
    let local = socket.local_addr()?;
    let mut rtc = Rtc::new(now);
    rtc.add_local_candidate(Candidate::host(local, Protocol::Udp)?);
    Ok((rtc, socket, local))
}

impl Peer {
    /// A peer with its tracks added; returns it and its offer for `join`.
    pub fn new(setup: PeerSetup, stats: Arc<Mutex<Counters>>) -> anyhow::Result<(Peer, String)> {
        let now = Instant::now();
        let (mut rtc, socket, local) = bind(setup.ip, now)?;
        let pt = |codec| {
            rtc.codec_config()
                .params()
                .iter()
                .find(|p| p.spec().codec == codec)
                .map(|p| p.pt())
                .ok_or_else(|| anyhow!("str0m offers no {codec:?}"))
        };
        let (opus, vp8) = (pt(Codec::Opus)?, pt(Codec::Vp8)?);
        let mut change = rtc.sdp_api();
        let audio = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let layers = setup.simulcast.then(|| {
            let mut s = Simulcast::new();
            let mut order: Vec<&str> = LAYERS.iter().map(|l| l.rid).collect();
            if setup.layers_high_first {
                order.reverse();
            }
            for rid in order {
                s.add_send_layer(SimulcastLayer::new(rid));
            }
            s
        });
        let video = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, layers);
        let (offer, pending) = change.apply().context("no offer")?;
        let peer = Peer {
            rtc,
            socket,
            local,
            publish: Some(Publishing {
                audio,
                video,
                opus,
                vp8,
                // One speaker, as in a group where one person talks at a time.
                speaking: setup.index == 0,
                encoder: Encoder::new(now, setup.index as u8, setup.simulcast),
            }),
            pending: Some(pending),
            next_timeout: now,
            stats,
        };
        Ok((peer, offer.to_sdp_string()))
    }

    /// A receive-only peer answering a server's offer (Janus's subscriber
    /// connection); returns it and its answer.
    pub fn subscriber(
        ip: IpAddr,
        offer: &str,
        stats: Arc<Mutex<Counters>>,
    ) -> anyhow::Result<(Peer, String)> {
        let now = Instant::now();
        let (rtc, socket, local) = bind(ip, now)?;
        let mut peer = Peer {
            rtc,
            socket,
            local,
            publish: None,
            pending: None,
            next_timeout: now,
            stats,
        };
        let answer = peer.answer_offer(offer)?;
        Ok((peer, answer))
    }

    /// Applies the engine's answer to the join offer.
    pub fn accept_answer(&mut self, sdp: &str) -> anyhow::Result<()> {
        let answer = SdpAnswer::from_sdp_string(sdp)?;
        let pending = self.pending.take().context("no offer outstanding")?;
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        self.drain()
    }

    /// Runs until `stop`; an error ends the peer and is kept in its counters.
    pub fn run(mut self, control: Receiver<Control>, stop: Arc<AtomicBool>) {
        if let Err(e) = self.serve(&control, &stop) {
            self.count(|c| c.error = Some(format!("{e:#}")));
        }
    }

    fn serve(&mut self, control: &Receiver<Control>, stop: &AtomicBool) -> anyhow::Result<()> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut nonblocking = false;
        while !stop.load(Ordering::Relaxed) {
            while let Ok(Control::Offer(sdp, reply)) = control.try_recv() {
                // The bench may have given up waiting; nothing to do then.
                let _ = reply.send(self.answer_offer(&sdp));
            }
            let now = Instant::now();
            if now >= self.next_timeout {
                self.rtc.handle_input(Input::Timeout(now))?;
                self.drain()?;
            }
            let mut wake = now + MAX_WAIT;
            if self.rtc.is_connected() {
                if let Some(p) = &mut self.publish {
                    let frames = p.encoder.frames_due(now);
                    wake = wake.min(p.encoder.next_due());
                    for frame in frames {
                        self.write(now, frame)?;
                    }
                }
            }
            // After a write str0m wants its timeout handled at once: that is
            // when it hands out the new packets. Taking the deadline from
            // before the write held them back until the next wake-up.
            wake = wake.min(self.next_timeout);
            // A due deadline must not block at all: the kernel rounds socket
            // timeouts up to a scheduler tick (4 ms at HZ=250), which held
            // every packet that long before str0m could send it.
            let wait = wake.saturating_duration_since(Instant::now());
            let due = wait.is_zero();
            if due != nonblocking {
                self.socket.set_nonblocking(due)?;
                nonblocking = due;
            }
            if !due {
                self.socket.set_read_timeout(Some(wait))?;
            }
            match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => self.receive(source, &buf[..n])?,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(e).context("receiving"),
            }
        }
        Ok(())
    }

    fn answer_offer(&mut self, sdp: &str) -> anyhow::Result<String> {
        let offer = SdpOffer::from_sdp_string(sdp)?;
        let answer = self.rtc.sdp_api().accept_offer(offer)?;
        self.drain()?;
        Ok(answer.to_sdp_string())
    }

    fn receive(&mut self, source: SocketAddr, data: &[u8]) -> anyhow::Result<()> {
        self.count(|c| {
            c.datagrams_in += 1;
            c.bytes_in += data.len() as u64;
        });
        // Not something str0m can parse: a browser would drop it too.
        let Ok(contents) = data.try_into() else {
            return Ok(());
        };
        let input = Receive {
            proto: Protocol::Udp,
            source,
            destination: self.local,
            contents,
        };
        self.rtc
            .handle_input(Input::Receive(Instant::now(), input))?;
        self.drain()
    }

    fn write(&mut self, now: Instant, frame: Frame) -> anyhow::Result<()> {
        let Some(p) = &self.publish else {
            return Ok(());
        };
        let speaking = p.speaking;
        let (mid, pt) = match frame.kind {
            MediaKind::Audio => (p.audio, p.opus),
            MediaKind::Video => (p.video, p.vp8),
        };
        // No writer once the engine has closed the connection.
        let Some(mut writer) = self.rtc.writer(mid) else {
            return Ok(());
        };
        if let Some(rid) = frame.rid {
            writer = writer.rid(rid);
        }
        if frame.kind == MediaKind::Audio {
            // RFC 6464 levels feed the engine's active-speaker detection.
            writer = match speaking {
                true => writer.audio_level(-25, true),
                false => writer.audio_level(-70, false),
            };
        }
        writer.write(pt, now, frame.time, frame.data)?;
        if frame.keyframe {
            self.count(|c| c.keyframes_sent += 1);
        }
        self.drain()
    }

    /// Sends what str0m queued and handles its events, as str0m requires
    /// after every input, write and SDP change.
    fn drain(&mut self) -> anyhow::Result<()> {
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(t) => {
                    self.next_timeout = t;
                    return Ok(());
                }
                Output::Transmit(t) => {
                    // UDP is lossy; a failed send is a lost packet, as on a real network.
                    if self.socket.send_to(&t.contents, t.destination).is_ok() {
                        self.count(|c| {
                            c.datagrams_out += 1;
                            c.bytes_out += t.contents.len() as u64;
                        });
                    }
                }
                Output::Event(e) => self.event(e),
            }
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::MediaData(d) => {
                let Some(media) = self.rtc.media(d.mid) else {
                    return;
                };
                let kind = media.kind();
                // The publisher's stamp names it, whatever the server calls
                // the stream (msid); unstamped frames are not ours.
                let Some(stamp) = stamp_of(kind, &d.data) else {
                    return;
                };
                let stream = match kind {
                    MediaKind::Audio => Stream::Audio,
                    MediaKind::Video => Stream::Video,
                };
                let mut c = self.stats.lock().unwrap_or_else(|p| p.into_inner());
                // When its first packet reached the socket: what the receiver's own
                // depacketizing does afterwards is not the server's delay.
                c.arrival(stream, stamp, d.network_time);
                let from = c
                    .frames_from
                    .entry(peer_name(stamp.publisher.into()))
                    .or_default();
                match kind {
                    MediaKind::Audio => from.audio += 1,
                    MediaKind::Video => {
                        from.video += 1;
                        if let Some(i) = layer_of(&d.data) {
                            c.frames_by_layer[i] += 1;
                        }
                    }
                }
            }
            Event::KeyframeRequest(r) => {
                if let Some(p) = self.publish.as_mut().filter(|p| p.video == r.mid) {
                    p.encoder.request_keyframe(r.rid);
                    self.count(|c| c.keyframe_requests += 1);
                }
            }
            _ => {}
        }
    }

    fn count(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }
}
