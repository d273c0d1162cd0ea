//! Engine configuration and the ICE candidates derived from it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use str0m::net::{Protocol, TcpType};
use str0m::Candidate;

use crate::error::SfuError;

/// How the engine binds and behaves. `Default` works on localhost.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// Local address of the one UDP socket. Port 0 picks a free port.
    pub udp_addr: SocketAddr,
    /// Local address of the passive ICE-TCP listener; `None` disables TCP.
    /// Port 0 picks a free port.
    pub tcp_addr: Option<SocketAddr>,
    /// Addresses announced to browsers as host candidates (e.g. the public IP
    /// when behind NAT with the same port forwarded). Empty: the bound address,
    /// which must then not be unspecified (0.0.0.0).
    pub public_ips: Vec<IpAddr>,
    /// Worker threads; each room lives on exactly one.
    pub workers: usize,
    /// A participant from whom nothing arrived for this long is removed.
    pub silence_timeout: Duration,
    /// Most participants in one room.
    pub max_participants: usize,
    /// Engine offers not answered in this time are abandoned and re-sent.
    pub offer_timeout: Duration,
}

impl Default for SfuConfig {
    fn default() -> Self {
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        SfuConfig {
            udp_addr: SocketAddr::new(local, 50000),
            tcp_addr: Some(SocketAddr::new(local, 50000)),
            public_ips: Vec::new(),
            workers: 2,
            silence_timeout: Duration::from_secs(20),
            max_participants: 16,
            offer_timeout: Duration::from_secs(10),
        }
    }
}

/// The room-level part of the configuration, with the bound ports resolved.
#[derive(Debug, Clone)]
pub(crate) struct RoomConfig {
    pub candidates: Vec<Candidate>,
    pub silence_timeout: Duration,
    pub max_participants: usize,
    pub offer_timeout: Duration,
}

impl RoomConfig {
    /// The address a packet from `source` is taken to have been sent to.
    ///
    /// A socket bound to one port cannot tell which announced IP a datagram was
    /// addressed to, and it does not need to: replies leave through the same
    /// socket. str0m only requires the destination to be one of our host
    /// candidates, so we pick the first of the right protocol and IP family.
    pub fn local_addr_for(&self, proto: Protocol, source: SocketAddr) -> Option<SocketAddr> {
        self.candidates
            .iter()
            .find(|c| c.proto() == proto && c.addr().is_ipv4() == source.is_ipv4())
            .map(|c| c.addr())
    }
}

pub(crate) fn host_candidates(
    public_ips: &[IpAddr],
    udp: SocketAddr,
    tcp: Option<SocketAddr>,
) -> Result<Vec<Candidate>, SfuError> {
    let ips: Vec<IpAddr> = if public_ips.is_empty() {
        if udp.ip().is_unspecified() {
            return Err(SfuError::Config(
                "udp_addr is unspecified (0.0.0.0); set public_ips".into(),
            ));
        }
        vec![udp.ip()]
    } else {
        public_ips.to_vec()
    };
    let mut out = Vec::new();
    for ip in &ips {
        let addr = SocketAddr::new(*ip, udp.port());
        let c = Candidate::host(addr, Protocol::Udp)
            .map_err(|e| SfuError::Config(format!("udp candidate: {e}")))?;
        out.push(c);
    }
    if let Some(tcp) = tcp {
        for ip in &ips {
            let addr = SocketAddr::new(*ip, tcp.port());
            let c = Candidate::builder()
                .tcp()
                .host(addr)
                .tcptype(TcpType::Passive)
                .build()
                .map_err(|e| SfuError::Config(format!("tcp candidate: {e}")))?;
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_address_needs_public_ips() {
        let udp: SocketAddr = "0.0.0.0:4000".parse().unwrap();
        assert!(host_candidates(&[], udp, None).is_err());
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let c = host_candidates(&[ip], udp, Some("0.0.0.0:4001".parse().unwrap())).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].addr(), "203.0.113.7:4000".parse().unwrap());
        assert_eq!(c[1].proto(), Protocol::Tcp);
        assert_eq!(c[1].addr().port(), 4001);
    }
}
