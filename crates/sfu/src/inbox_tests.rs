//! A worker's inbox under a backlog: commands go first, and packets that
//! waited too long are dropped unread instead of delaying everything behind.

use std::net::UdpSocket;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use tokio::sync::{mpsc, oneshot};

use crate::error::SfuError;
use crate::ids::{PeerKey, RoomId};
use crate::net::NetOut;
use crate::placement::Placement;
use crate::tcp::TcpConns;
use crate::testing::{room_config, SERVER};
use crate::traffic::Counters;
use crate::worker::{Command, Inbox, Worker, WorkerMsg, MAX_PACKET_WAIT};

/// A worker with no rooms, its inbox, and the counters it reports to.
fn worker() -> (Worker, Inbox, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let net = NetOut {
        udp: Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap()),
        tcp: TcpConns::default(),
        counters: counters.clone(),
    };
    let (events, _) = mpsc::unbounded_channel();
    let (worker, inbox) = Worker::new(
        0,
        Arc::new(RwLock::new(Default::default())),
        net,
        events,
        room_config(Duration::from_secs(10)),
        Arc::new(str0m::crypto::from_feature_flags()),
        Arc::new(Placement::new(1)),
    );
    (worker, inbox, counters)
}

fn packet(at: Instant) -> WorkerMsg {
    WorkerMsg::Packet {
        key: PeerKey(1),
        proto: Protocol::Udp,
        source: "127.0.0.1:5000".parse().unwrap(),
        destination: SERVER.parse().unwrap(),
        data: Vec::new(),
        at,
    }
}

#[test]
fn a_command_is_handled_before_the_packets_queued_ahead_of_it() {
    let (worker, inbox, counters) = worker();
    // Far more packets than the worker reads in the moment it takes the
    // test to see the reply; each is dropped as late, and counted.
    const QUEUED: u64 = 200_000;
    let old = Instant::now() - 2 * MAX_PACKET_WAIT;
    // Straight into the channel: more than `Inbox::packet` lets through.
    inbox.queued.fetch_add(QUEUED as usize, Ordering::Relaxed);
    for _ in 0..QUEUED {
        inbox.tx.send(packet(old)).unwrap();
    }
    let (reply, answer) = oneshot::channel();
    assert!(inbox.command(RoomId("r".into()), Command::Close(reply)));
    let thread = std::thread::spawn(move || worker.run());
    let answered = answer.blocking_recv().unwrap();
    let late_then = counters.read().packets_late;
    assert!(matches!(answered, Err(SfuError::NoSuchRoom)));
    assert!(
        late_then < QUEUED,
        "the command waited for all {QUEUED} packets queued before it"
    );
    inbox.tx.send(WorkerMsg::Shutdown).unwrap();
    thread.join().unwrap();
    assert_eq!(counters.read().packets_late, QUEUED);
}

#[test]
fn only_packets_that_waited_too_long_are_dropped_as_late() {
    let (worker, inbox, counters) = worker();
    let now = Instant::now();
    inbox.packet(packet(now - 2 * MAX_PACKET_WAIT));
    inbox.packet(packet(now));
    inbox.tx.send(WorkerMsg::Shutdown).unwrap();
    worker.run();
    assert_eq!(counters.read().packets_late, 1);
    assert_eq!(inbox.queued.load(Ordering::Relaxed), 0);
}
