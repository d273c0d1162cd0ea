//! `udp-relay`: the ceiling for `room-load compare`. A plain UDP relay on
//! 127.0.0.1 (a free port): no SRTP, no RTCP, no layer choice. The first
//! byte of every datagram names the sender's room; the relay learns each
//! sender's address and sends every datagram to everyone else in that
//! room. It writes `{"type":"ready","udp":…}` and runs until stdin closes.

use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use regroup_loadtest::control::{to_line, Message};

fn main() -> ExitCode {
    match relay() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("udp-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn relay() -> std::io::Result<()> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    // The same buffers as the engine's socket, so bursts meet the same room.
    regroup_sfu::widen_buffers(&socket)?;
    print!(
        "{}",
        to_line(&Message::Ready {
            udp: socket.local_addr()?
        })
    );
    // The harness closes stdin to stop the relay.
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let mut rooms: HashMap<u8, Vec<SocketAddr>> = HashMap::new();
    let mut buf = [0u8; 2048];
    loop {
        let (n, from) = socket.recv_from(&mut buf)?;
        let Some(&room) = buf[..n].first() else {
            continue;
        };
        let peers = rooms.entry(room).or_default();
        if !peers.contains(&from) {
            peers.push(from);
        }
        for to in peers.iter().filter(|a| **a != from) {
            // A full socket buffer drops the datagram, as a network would.
            let _ = socket.send_to(&buf[..n], to);
        }
    }
}
