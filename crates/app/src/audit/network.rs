//! The source of an entry is the network, not the address: enough to tell a
//! clinic's connection from a stranger's, too coarse to single out a person.

use std::net::{IpAddr, Ipv6Addr};

/// The /24 of an IPv4 address or the /48 of an IPv6 one, in CIDR notation.
/// An IPv4-mapped IPv6 address counts as the IPv4 address it carries.
pub fn network(addr: IpAddr) -> String {
    match addr.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let [s0, s1, s2, ..] = v6.segments();
            format!("{}/48", Ipv6Addr::new(s0, s1, s2, 0, 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(raw: &str) -> String {
        // Literal test addresses always parse.
        network(raw.parse().unwrap())
    }

    #[test]
    fn an_ipv4_address_keeps_its_first_three_octets() {
        assert_eq!(net("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(net("127.0.0.1"), "127.0.0.0/24");
    }

    #[test]
    fn an_ipv6_address_keeps_its_first_48_bits() {
        assert_eq!(net("2001:db8:1234:5678:9abc::1"), "2001:db8:1234::/48");
        assert_eq!(net("::1"), "::/48");
    }

    #[test]
    fn an_ipv4_mapped_ipv6_address_is_treated_as_ipv4() {
        assert_eq!(net("::ffff:198.51.100.9"), "198.51.100.0/24");
    }

    #[test]
    fn the_host_part_never_survives() {
        assert!(!net("198.51.100.250").contains("250"));
        assert!(!net("2001:db8:aa:bb:cc:dd:ee:ff").contains("ff"));
    }
}
