//! Datagrams and bytes through the engine's sockets, for operators' metrics.
//! Counted once per socket call or batch, so the cost stays off the
//! per-packet path: relaxed atomic adds that no reader waits on.

use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals since the engine started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Datagrams (UDP) or framed packets (ICE-TCP) received from peers.
    pub packets_in: u64,
    pub bytes_in: u64,
    /// Sent to peers: forwarded media, RTCP and STUN alike.
    pub packets_out: u64,
    pub bytes_out: u64,
    /// Received but dropped unread: they waited too long for a busy worker
    /// (`MAX_PACKET_WAIT`).
    pub packets_late: u64,
}

/// Media packets the engine wrote towards one participant since it joined
/// (what it forwarded; RTCP, retransmissions and padding not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    pub audio_packets: u64,
    pub video_packets: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
    packets_late: AtomicU64,
}

impl Counters {
    pub fn received(&self, packets: u64, bytes: u64) {
        self.packets_in.fetch_add(packets, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn sent(&self, packets: u64, bytes: u64) {
        self.packets_out.fetch_add(packets, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Only while a worker is behind, so not on the usual per-packet path.
    pub fn late(&self) {
        self.packets_late.fetch_add(1, Ordering::Relaxed);
    }

    pub fn read(&self) -> Traffic {
        Traffic {
            packets_in: self.packets_in.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            packets_out: self.packets_out.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            packets_late: self.packets_late.load(Ordering::Relaxed),
        }
    }
}
