//! Passive ICE-TCP (RFC 6544) with RFC 4571 framing: each packet is
//! preceded by its length as two bytes, big-endian.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use str0m::net::Protocol;
use tracing::{debug, warn};

use crate::net::Dispatch;

/// Open TCP connections at most; beyond this new ones are refused.
const MAX_CONNECTIONS: usize = 1024;
/// Packets queued per connection for writing; more are dropped (like UDP).
const WRITE_QUEUE: usize = 512;
/// A connection that sends nothing for this long is closed. Browsers send
/// ICE consent checks every few seconds.
const IDLE: Duration = Duration::from_secs(30);

/// Writers of the open connections, by remote address.
#[derive(Clone, Default)]
pub(crate) struct TcpConns(Arc<Mutex<HashMap<SocketAddr, SyncSender<Vec<u8>>>>>);

impl TcpConns {
    pub fn send(&self, to: SocketAddr, packet: &[u8]) {
        let Ok(len) = u16::try_from(packet.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(packet.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(packet);
        let conns = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = conns.get(&to) {
            if let Err(TrySendError::Full(_)) = tx.try_send(framed) {
                debug!("tcp write queue full, packet dropped");
            }
        }
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn insert(&self, addr: SocketAddr, tx: SyncSender<Vec<u8>>) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(addr, tx);
    }

    fn remove(&self, addr: SocketAddr) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&addr);
    }
}

/// Accepts connections until shutdown. The listener is non-blocking so the
/// loop can notice the stop flag.
pub(crate) fn accept_loop(
    listener: TcpListener,
    conns: TcpConns,
    dispatch: Dispatch,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, remote)) => {
                if conns.len() >= MAX_CONNECTIONS {
                    warn!("too many tcp connections, refusing one");
                    continue;
                }
                if let Err(e) = start_connection(stream, remote, &conns, &dispatch, &stop) {
                    debug!("tcp connection setup failed: {e}");
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => {
                warn!("tcp accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn start_connection(
    stream: TcpStream,
    remote: SocketAddr,
    conns: &TcpConns,
    dispatch: &Dispatch,
    stop: &Arc<AtomicBool>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut writer = stream.try_clone()?;
    let (tx, rx) = sync_channel::<Vec<u8>>(WRITE_QUEUE);
    conns.insert(remote, tx);
    std::thread::Builder::new()
        .name("sfu-tcp-write".into())
        .spawn(move || {
            for packet in rx {
                if writer.write_all(&packet).is_err() {
                    break;
                }
            }
            let _ = writer.shutdown(std::net::Shutdown::Both);
        })?;
    let (conns, dispatch, stop) = (conns.clone(), dispatch.clone(), stop.clone());
    std::thread::Builder::new()
        .name("sfu-tcp-read".into())
        .spawn(move || {
            read_frames(stream, remote, &dispatch, &stop);
            // Dropping the writer's sender ends the writer thread.
            conns.remove(remote);
        })?;
    Ok(())
}

fn read_frames(mut stream: TcpStream, remote: SocketAddr, dispatch: &Dispatch, stop: &AtomicBool) {
    let mut idle = Duration::ZERO;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                idle = Duration::ZERO;
                buf.extend_from_slice(&chunk[..n]);
                while let Some(packet) = take_frame(&mut buf) {
                    dispatch.packet(Protocol::Tcp, remote, packet);
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                idle += Duration::from_secs(1);
                if idle >= IDLE {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Splits one length-prefixed frame off the front of `buf`, if complete.
fn take_frame(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let len = u16::from_be_bytes([*buf.first()?, *buf.get(1)?]) as usize;
    if buf.len() < 2 + len {
        return None;
    }
    let packet = buf[2..2 + len].to_vec();
    buf.drain(..2 + len);
    Some(packet)
}

#[cfg(test)]
mod tests {
    use super::take_frame;

    #[test]
    fn frames_are_split_only_when_complete() {
        let mut buf = vec![0, 3, 1, 2];
        assert_eq!(take_frame(&mut buf), None);
        buf.extend_from_slice(&[3, 0, 1, 9, 0]);
        assert_eq!(take_frame(&mut buf), Some(vec![1, 2, 3]));
        assert_eq!(take_frame(&mut buf), Some(vec![9]));
        assert_eq!(take_frame(&mut buf), None);
        assert_eq!(buf, vec![0]);
    }
}
