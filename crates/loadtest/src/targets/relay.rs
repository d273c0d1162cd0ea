//! The ceiling: peers that send plain RTP-sized datagrams (no SRTP, no
//! RTCP) through `udp-relay`. Each sends its audio and the one camera layer
//! the web app's rule would give subscribers, since a relay cannot choose
//! layers; sizes and rates come from the same encoder as the WebRTC peers.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use str0m::media::MediaKind;

use crate::media::{layer_of, Encoder};
use crate::stamp::Stamp;
use crate::stats::{peer_name, Counters, Stream};

/// An RTP header without extensions.
const RTP_HEADER: usize = 12;
/// Payload per datagram, as str0m packetizes (about 1200 bytes on the wire).
const MAX_PAYLOAD: usize = 1188;
/// Where the stamp sits: after the room byte and the kind byte.
const STAMP_AT: usize = 2;
const AUDIO: u8 = 1;
const VIDEO: u8 = 2;

/// Datagram sizes a frame of `len` bytes becomes on the wire.
pub fn datagram_sizes(len: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = (0..len / MAX_PAYLOAD)
        .map(|_| MAX_PAYLOAD + RTP_HEADER)
        .collect();
    if len % MAX_PAYLOAD > 0 || len == 0 {
        sizes.push(len % MAX_PAYLOAD + RTP_HEADER);
    }
    sizes
}

/// One datagram: room, kind, stamp, then filler up to `size`.
pub fn datagram(room: u8, kind: u8, stamp: Stamp, size: usize) -> Vec<u8> {
    let mut d = vec![0u8; size.max(STAMP_AT + crate::stamp::STAMP_LEN)];
    d[0] = room;
    d[1] = kind;
    stamp.write(&mut d, STAMP_AT);
    d
}

pub struct RelayPeer {
    pub room: u8,
    pub index: usize,
    /// The camera layer to send (see the module comment).
    pub layer: usize,
    pub relay: SocketAddr,
}

impl RelayPeer {
    /// Sends and receives until `stop`; an error is kept in the counters.
    pub fn run(self, stats: Arc<Mutex<Counters>>, stop: Arc<AtomicBool>) {
        if let Err(e) = self.serve(&stats, &stop) {
            stats.lock().unwrap_or_else(|p| p.into_inner()).error = Some(format!("{e:#}"));
        }
    }

    fn serve(&self, stats: &Mutex<Counters>, stop: &AtomicBool) -> anyhow::Result<()> {
        let socket = UdpSocket::bind("127.0.0.1:0").context("binding a relay peer")?;
        let mut encoder = Encoder::new(Instant::now(), self.index as u8, true);
        let mut seq = 0u32;
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            for frame in encoder.frames_due(now) {
                let kind = match frame.kind {
                    MediaKind::Audio => AUDIO,
                    MediaKind::Video if layer_of(&frame.data) == Some(self.layer) => VIDEO,
                    MediaKind::Video => continue,
                };
                for size in datagram_sizes(frame.data.len()) {
                    seq += 1;
                    let d = datagram(
                        self.room,
                        kind,
                        Stamp::new(self.index as u8, seq, now),
                        size,
                    );
                    if socket.send_to(&d, self.relay).is_ok() {
                        let mut c = stats.lock().unwrap_or_else(|p| p.into_inner());
                        c.datagrams_out += 1;
                        c.bytes_out += d.len() as u64;
                    }
                }
            }
            let wait = encoder
                .next_due()
                .saturating_duration_since(Instant::now())
                .max(Duration::from_micros(100));
            socket.set_read_timeout(Some(wait))?;
            // Drain what arrived before the next frame is due.
            loop {
                match socket.recv_from(&mut buf) {
                    Ok((n, _)) => receive(&buf[..n], stats),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        break
                    }
                    Err(e) => return Err(e).context("receiving"),
                }
                if Instant::now() >= encoder.next_due() {
                    break;
                }
            }
        }
        Ok(())
    }
}

fn receive(d: &[u8], stats: &Mutex<Counters>) {
    let now = Instant::now();
    let mut c = stats.lock().unwrap_or_else(|p| p.into_inner());
    c.datagrams_in += 1;
    c.bytes_in += d.len() as u64;
    let Some(stamp) = Stamp::read(d, STAMP_AT) else {
        return;
    };
    c.arrival(Stream::Datagram, stamp, now);
    let from = c
        .frames_from
        .entry(peer_name(stamp.publisher.into()))
        .or_default();
    match d[1] {
        AUDIO => from.audio += 1,
        VIDEO => from.video += 1,
        _ => {}
    }
}

/// One run against `udp-relay`.
pub fn run(cfg: &crate::bench::BenchConfig) -> anyhow::Result<super::Observed> {
    let relay = super::ReadyChild::start(&crate::engine::sibling("udp-relay")?)?;
    // No cap (up to 4 people) means the full layer, which loopback's
    // bandwidth estimate reaches with the SFUs too.
    let layer =
        crate::bench::app_layer_cap(cfg.participants).unwrap_or(crate::media::LAYERS.len() - 1);
    let mut crowd = super::Crowd::default();
    let start = Instant::now();
    for room in 0..cfg.rooms {
        for index in 0..cfg.participants {
            let stats = Arc::new(Mutex::new(Counters::default()));
            crowd.stats.push((peer_name(index), stats.clone()));
            let peer = RelayPeer {
                room: room as u8,
                index,
                layer,
                relay: relay.udp,
            };
            let stop = crowd.stop.clone();
            crowd.threads.push(
                std::thread::Builder::new()
                    .name(format!("relay-peer-{}", crowd.threads.len() + 1))
                    .spawn(move || peer.run(stats, stop))?,
            );
        }
    }
    let observed = crowd.observe(cfg, start, relay.child.id());
    crowd.stop();
    observed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_into_rtp_sized_datagrams() {
        assert_eq!(datagram_sizes(80), vec![92]);
        assert_eq!(datagram_sizes(1188), vec![1200]);
        assert_eq!(
            datagram_sizes(6250),
            vec![1200, 1200, 1200, 1200, 1200, 322]
        );
    }

    #[test]
    fn a_datagram_carries_room_kind_and_stamp() {
        let stamp = Stamp::new(3, 42, crate::stamp::epoch());
        let d = datagram(9, VIDEO, stamp, 92);
        assert_eq!((d.len(), d[0], d[1]), (92, 9, VIDEO));
        assert_eq!(Stamp::read(&d, STAMP_AT), Some(stamp));
        let stats = Mutex::new(Counters::default());
        receive(&d, &stats);
        let c = stats.into_inner().unwrap();
        assert_eq!(c.frames_from["p04"].video, 1);
        assert_eq!((c.datagrams_in, c.received), (1, 1));
    }
}
