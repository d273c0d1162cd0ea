//! Where a request comes from. Behind a reverse proxy (the usual way to add
//! TLS) every connection comes from the proxy, so throttling and analytics
//! would see one address for everyone. Proxies named in `--trusted-proxies`
//! may say who they forward for in `X-Forwarded-For`; nobody else can, so a
//! client cannot pick an address to dodge the throttle.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::state::AppState;

/// The resolved address, put in the request's extensions for the extractor
/// (`crate::extract::PeerAddr`) and the analytics.
#[derive(Clone, Copy, Debug)]
pub struct RequestAddr(pub IpAddr);

/// The address of the socket peer, or the one a trusted proxy forwarded:
/// walking `X-Forwarded-For` from the right (the entry the nearest proxy
/// added), the first address that is not a trusted proxy itself. Entries
/// left of it could be made up by the client.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut chain: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        chain.extend(text.split(',').map(str::trim));
    }
    let mut found = peer;
    for entry in chain.iter().rev() {
        let Some(ip) = parse_entry(entry) else {
            // Garbage from here leftwards: keep the last address we could trust.
            return found;
        };
        found = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    found
}

/// An address as proxies write it: bare, or with a port (`[v6]:port`, `v4:port`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    entry
        .parse::<SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

/// Middleware: resolves the address once per request.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let addr = resolve(peer, request.headers(), &state.settings.trusted_proxies);
    request.extensions_mut().insert(RequestAddr(addr));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let h = headers(&["203.0.113.9"]);
        assert_eq!(resolve(ip("198.51.100.1"), &h, &[]), ip("198.51.100.1"));
        // Not from the trusted proxy: a client writing the header gains nothing.
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("198.51.100.1"), &h, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        // The client claimed 1.2.3.4; the proxy appended the real address.
        let h = headers(&["1.2.3.4, 203.0.113.9, 10.0.0.2"]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("203.0.113.9"));
        // Several header lines count as one list, in order.
        let h = headers(&["1.2.3.4", "203.0.113.9"]);
        assert_eq!(resolve(ip("10.1.1.1"), &h, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn ports_v6_and_mapped_addresses_are_understood() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&["[2001:db8::7]:4711"]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("2001:db8::7"));
        let h = headers(&["203.0.113.9:55000"]);
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &h, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_and_missing_headers_fall_back_to_what_is_known() {
        let trusted = nets(&["127.0.0.1/32"]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
        let h = headers(&["not-an-address, 203.0.113.9"]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("203.0.113.9"));
        let h = headers(&["203.0.113.9, unknown"]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted), ip("127.0.0.1"));
    }
}
