//! Finding the connection an incoming packet belongs to, in O(1): first by
//! remote address, then, for a STUN packet from a new address, by our ICE ufrag.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::ids::PeerKey;

/// Remote addresses remembered per connection. Browsers try a handful of
/// candidate pairs; anything beyond this evicts the oldest.
const MAX_ADDRS_PER_PEER: usize = 8;

/// Where a connection lives: which worker, and its key there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    pub worker: usize,
    pub key: PeerKey,
}

/// Transport plus remote address: the same address over UDP and TCP are
/// different paths.
pub(crate) type Remote = (bool, SocketAddr);

#[derive(Debug, Default)]
pub(crate) struct Router {
    by_addr: HashMap<Remote, Route>,
    by_ufrag: HashMap<String, Route>,
    of_peer: HashMap<PeerKey, (String, Vec<Remote>)>,
}

impl Router {
    /// Registers (or, after an ICE restart, re-registers) a connection's ufrag.
    pub fn add(&mut self, worker: usize, key: PeerKey, ufrag: String) {
        let route = Route { worker, key };
        let entry = self
            .of_peer
            .entry(key)
            .or_insert_with(|| (String::new(), Vec::new()));
        if !entry.0.is_empty() {
            self.by_ufrag.remove(&entry.0);
        }
        entry.0.clone_from(&ufrag);
        self.by_ufrag.insert(ufrag, route);
    }

    pub fn remove(&mut self, key: PeerKey) {
        if let Some((ufrag, addrs)) = self.of_peer.remove(&key) {
            self.by_ufrag.remove(&ufrag);
            for a in addrs {
                self.by_addr.remove(&a);
            }
        }
    }

    /// The route for a known address, without learning anything.
    pub fn lookup(&self, remote: Remote) -> Option<Route> {
        self.by_addr.get(&remote).copied()
    }

    /// Routes a packet from an unknown address by the ufrag in its STUN
    /// USERNAME and remembers the address. str0m still checks the STUN
    /// integrity, so a forged ufrag only misroutes the forger's own address.
    pub fn learn(&mut self, remote: Remote, packet: &[u8]) -> Option<Route> {
        if let Some(r) = self.lookup(remote) {
            return Some(r);
        }
        let ufrag = stun_local_ufrag(packet)?;
        let route = *self.by_ufrag.get(ufrag)?;
        let (_, addrs) = self.of_peer.get_mut(&route.key)?;
        if addrs.len() >= MAX_ADDRS_PER_PEER {
            let old = addrs.remove(0);
            self.by_addr.remove(&old);
        }
        addrs.push(remote);
        self.by_addr.insert(remote, route);
        Some(route)
    }
}

/// What kind of packet a datagram is, by its first byte (RFC 7983).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PacketKind {
    Stun,
    Dtls,
    Rtp,
    Other,
}

pub(crate) fn classify(packet: &[u8]) -> PacketKind {
    match packet.first() {
        Some(0..=3) => PacketKind::Stun,
        Some(20..=63) => PacketKind::Dtls,
        Some(128..=191) => PacketKind::Rtp,
        _ => PacketKind::Other,
    }
}

/// Our half of the USERNAME ("ours:theirs") of a STUN binding request.
pub(crate) fn stun_local_ufrag(packet: &[u8]) -> Option<&str> {
    const MAGIC: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
    const USERNAME: u16 = 0x0006;
    if packet.len() < 20 || packet[4..8] != MAGIC || classify(packet) != PacketKind::Stun {
        return None;
    }
    let len = u16::from_be_bytes([packet[2], packet[3]]) as usize;
    let body = packet.get(20..20 + len)?;
    let mut at = 0;
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let alen = u16::from_be_bytes([body[at + 2], body[at + 3]]) as usize;
        let value = body.get(at + 4..at + 4 + alen)?;
        if kind == USERNAME {
            let name = std::str::from_utf8(value).ok()?;
            return name.split(':').next();
        }
        // Attributes are padded to 4 bytes.
        at += 4 + alen.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding_request(username: &str) -> Vec<u8> {
        let mut attr = vec![0x00, 0x06];
        attr.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attr.extend_from_slice(username.as_bytes());
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        // A second attribute after the padded one, to test the walk.
        attr.extend_from_slice(&[0x80, 0x29, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
        let mut p = vec![0x00, 0x01];
        p.extend_from_slice(&(attr.len() as u16).to_be_bytes());
        p.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        p.extend_from_slice(&[9; 12]);
        p.extend_from_slice(&attr);
        p
    }

    #[test]
    fn reads_our_ufrag_from_a_binding_request() {
        assert_eq!(stun_local_ufrag(&binding_request("srv1:brw")), Some("srv1"));
        assert_eq!(stun_local_ufrag(&[0u8; 10]), None);
        let mut cut = binding_request("abc:def");
        cut.truncate(25);
        assert_eq!(
            stun_local_ufrag(&cut),
            None,
            "truncated packets are refused"
        );
    }

    #[test]
    fn learns_an_address_from_stun_then_routes_by_address() {
        let mut r = Router::default();
        let key = PeerKey(7);
        r.add(1, key, "srv1".into());
        let remote = (false, "192.0.2.1:5000".parse().unwrap());
        assert_eq!(r.lookup(remote), None);
        let route = r.learn(remote, &binding_request("srv1:x")).unwrap();
        assert_eq!(route, Route { worker: 1, key });
        assert_eq!(r.lookup(remote), Some(route));
        assert_eq!(
            r.learn(
                (false, "192.0.2.2:1".parse().unwrap()),
                &binding_request("nope:x")
            ),
            None
        );
        r.add(1, key, "srv2".into());
        assert!(
            !r.by_ufrag.contains_key("srv1"),
            "ICE restart replaces the ufrag"
        );
        r.remove(key);
        assert_eq!(r.lookup(remote), None);
        assert!(r.by_ufrag.is_empty());
    }
}
