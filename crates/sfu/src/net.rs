//! The UDP socket: reading and dispatching to workers, and sending for them.

use std::io::{ErrorKind, IoSlice};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
use str0m::net::Protocol;
use tracing::{debug, trace, warn};

use crate::config::RoomConfig;
use crate::demux::{classify, PacketKind, Router};
use crate::tcp::TcpConns;
use crate::traffic::Counters;
use crate::transmits::Transmits;
use crate::worker::{Inbox, WorkerMsg};

/// Largest datagram we accept; WebRTC keeps well under a 1500-byte MTU.
const MAX_DATAGRAM: usize = 2048;
/// Most datagrams handed to one `sendmmsg` (Linux takes up to 1024).
const SEND_BATCH: usize = 64;
/// Socket buffer asked for each way. Publishers' keyframes arrive in bursts
/// (a room's worth at a layer switch), and Linux's default of about 200 KB
/// holds some 90 datagrams of this size once its bookkeeping is counted.
pub const SOCKET_BUFFER: usize = 4 << 20;

/// Asks the kernel for `SOCKET_BUFFER` bytes of receive and send buffer.
/// It grants at most `net.core.rmem_max` / `wmem_max` (Linux's default is
/// 212,992 bytes); a smaller grant is not an error, so the receive buffer
/// actually granted is returned for the caller to report.
pub fn widen_buffers(socket: &UdpSocket) -> std::io::Result<usize> {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    setsockopt(socket, sockopt::RcvBuf, &SOCKET_BUFFER)?;
    setsockopt(socket, sockopt::SndBuf, &SOCKET_BUFFER)?;
    // Linux reports twice what it grants: half is its own bookkeeping.
    Ok(getsockopt(socket, sockopt::RcvBuf)? / 2)
}

/// Sends workers' datagrams on the right transport.
#[derive(Clone)]
pub(crate) struct NetOut {
    pub udp: Arc<UdpSocket>,
    pub tcp: TcpConns,
    pub counters: Arc<Counters>,
}

impl NetOut {
    /// Sends a room's datagrams: UDP ones with as few `sendmmsg` calls as
    /// possible. The profile (docs/engine-profile.md) shows `sendto` as the
    /// largest single cost; one call for many datagrams saves the syscall
    /// entry, and the receivers woken by each datagram preempt us once per
    /// call instead of once per datagram.
    pub fn send_all(&self, transmits: &Transmits) {
        let mut udp: Vec<(SocketAddr, &[u8])> = Vec::new();
        let (mut packets, mut bytes) = (0, 0);
        for (proto, destination, contents) in transmits.iter() {
            packets += 1;
            bytes += contents.len() as u64;
            match proto {
                Protocol::Udp => udp.push((destination, contents)),
                Protocol::Tcp => self.tcp.send(destination, contents),
                _ => {}
            }
        }
        self.counters.sent(packets, bytes);
        for batch in udp.chunks(SEND_BATCH) {
            self.send_udp(batch);
        }
    }

    fn send_udp(&self, batch: &[(SocketAddr, &[u8])]) {
        let slices: Vec<[IoSlice<'_>; 1]> = batch.iter().map(|(_, c)| [IoSlice::new(c)]).collect();
        let addrs: Vec<Option<SockaddrStorage>> = batch
            .iter()
            .map(|(a, _)| Some(SockaddrStorage::from(*a)))
            .collect();
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(batch.len(), None);
        let fd = self.udp.as_raw_fd();
        let mut start = 0;
        while start < batch.len() {
            let sent = sendmmsg(
                fd,
                &mut headers,
                &slices[start..],
                &addrs[start..],
                [],
                MsgFlags::empty(),
            );
            match sent {
                Ok(results) => match results.count() {
                    0 => break,
                    n => start += n,
                },
                // The call fails only when its first datagram does. Full
                // buffers and unreachable hosts are routine on UDP: skip it.
                Err(e) => {
                    trace!("udp send failed: {e}");
                    start += 1;
                }
            }
        }
    }
}

/// Hands an incoming packet to the worker that owns its connection.
#[derive(Clone)]
pub(crate) struct Dispatch {
    pub router: Arc<RwLock<Router>>,
    pub inboxes: Vec<Inbox>,
    pub cfg: Arc<RoomConfig>,
    pub counters: Arc<Counters>,
}

impl Dispatch {
    pub fn packet(&self, proto: Protocol, source: SocketAddr, data: Vec<u8>) {
        self.counters.received(1, data.len() as u64);
        let kind = classify(&data);
        if kind == PacketKind::Other {
            return;
        }
        let remote = (proto == Protocol::Tcp, source);
        let known = self
            .router
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .lookup(remote);
        let route = match known {
            Some(r) => r,
            None if kind == PacketKind::Stun => {
                let mut router = self.router.write().unwrap_or_else(|p| p.into_inner());
                match router.learn(remote, &data) {
                    Some(r) => r,
                    None => {
                        debug!("stun for unknown ufrag dropped");
                        return;
                    }
                }
            }
            None => return,
        };
        let Some(destination) = self.cfg.local_addr_for(proto, source) else {
            return;
        };
        if let Some(inbox) = self.inboxes.get(route.worker) {
            inbox.packet(WorkerMsg::Packet {
                key: route.key,
                proto,
                source,
                destination,
                data,
                at: Instant::now(),
            });
        }
    }
}

/// Reads the UDP socket until shutdown.
pub(crate) fn udp_loop(socket: Arc<UdpSocket>, dispatch: Dispatch, stop: Arc<AtomicBool>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, source)) => dispatch.packet(Protocol::Udp, source, buf[..n].to_vec()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // ICMP errors from earlier sends surface here on some systems.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => {
                warn!("udp receive failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_grow_to_what_the_kernel_allows() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let cap = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok());
        let granted = widen_buffers(&socket).unwrap();
        match cap {
            Some(cap) => assert_eq!(granted, SOCKET_BUFFER.min(cap)),
            None => assert!(granted > 0),
        }
    }
}
