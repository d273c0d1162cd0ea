//! The one SDP edit the app makes: dropping UDP candidates when the server is
//! told to announce ICE-TCP only (networks that block UDP, and the test of it).

pub fn tcp_only(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        if is_udp_candidate(line) {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// `a=candidate:<foundation> <component> <transport> ...`
fn is_udp_candidate(line: &str) -> bool {
    line.strip_prefix("a=candidate:")
        .and_then(|rest| rest.split_whitespace().nth(2))
        .is_some_and(|transport| transport.eq_ignore_ascii_case("udp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_tcp_candidates() {
        let sdp = "v=0\r\na=candidate:1 1 udp 2130706175 127.0.0.1 5000 typ host\r\n\
                   a=candidate:2 1 TCP 2105458943 127.0.0.1 5001 typ host tcptype passive\r\na=end\r\n";
        let out = tcp_only(sdp);
        assert!(!out.contains(" udp "));
        assert!(out.contains("TCP 2105458943"));
        assert!(out.starts_with("v=0\r\n") && out.ends_with("a=end\r\n"));
    }
}
