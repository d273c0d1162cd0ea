//! Datagrams waiting to be sent, packed into one buffer that keeps its
//! allocation: the hot path allocates nothing per datagram.

use std::net::SocketAddr;

use str0m::net::Protocol;

#[derive(Debug, Default)]
pub(crate) struct Transmits {
    bytes: Vec<u8>,
    /// Each datagram's transport, destination and end offset in `bytes`.
    items: Vec<(Protocol, SocketAddr, usize)>,
}

impl Transmits {
    pub fn push(&mut self, proto: Protocol, destination: SocketAddr, contents: &[u8]) {
        self.bytes.extend_from_slice(contents);
        self.items.push((proto, destination, self.bytes.len()));
    }

    /// Moves everything in `other` to the end of `self`.
    pub fn append(&mut self, other: &mut Transmits) {
        for (proto, destination, contents) in other.iter() {
            self.push(proto, destination, contents);
        }
        other.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = (Protocol, SocketAddr, &[u8])> + '_ {
        let mut start = 0;
        self.items.iter().map(move |&(proto, destination, end)| {
            let contents = &self.bytes[start..end];
            start = end;
            (proto, destination, contents)
        })
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_come_out_as_they_went_in() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let mut first = Transmits::default();
        first.push(Protocol::Udp, a, b"one");
        let mut second = Transmits::default();
        second.push(Protocol::Tcp, b, b"");
        second.push(Protocol::Udp, b, b"three");
        first.append(&mut second);
        let out: Vec<(Protocol, SocketAddr, Vec<u8>)> =
            first.iter().map(|(p, d, c)| (p, d, c.to_vec())).collect();
        assert_eq!(
            out,
            vec![
                (Protocol::Udp, a, b"one".to_vec()),
                (Protocol::Tcp, b, Vec::new()),
                (Protocol::Udp, b, b"three".to_vec()),
            ]
        );
        assert_eq!(second.iter().count(), 0, "the source is emptied");
        first.clear();
        assert_eq!(first.iter().count(), 0);
    }
}
