//! A worker thread: owns its rooms outright and drives them with packets,
//! commands and time. Rooms never move between workers.

use std::collections::HashMap;
use std::mem;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use str0m::config::CryptoProvider;
use str0m::net::{Protocol, Receive};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::config::RoomConfig;
use crate::demux::Router;
use crate::error::SfuError;
use crate::event::Event;
use crate::ids::{ParticipantId, PeerKey, RoomId, TrackKind};
use crate::net::NetOut;
use crate::placement::Placement;
use crate::room::{Room, RouteChange};
use crate::traffic::Forwarded;

/// Packets queued for a worker beyond this are dropped, like a full socket
/// buffer: a stalled worker must not eat all memory.
pub(crate) const MAX_QUEUED_PACKETS: usize = 20_000;
/// A packet that waited longer than this for its worker is dropped unread.
/// Audio or video that late misses its moment in the receiver's jitter
/// buffer, and STUN, DTLS and RTCP are sent again anyway; reading it would
/// only make every packet behind it later still. Without this, a worker
/// that fell behind (on a slow machine beside three browsers) kept its
/// queue full for good: some 30 s of delay for media and checks alike.
pub(crate) const MAX_PACKET_WAIT: Duration = Duration::from_millis(250);
/// Most packets taken from the inbox before what they forwarded is sent:
/// enough to share str0m's per-drain work, few enough to add no real delay.
/// In a 16-person room 32 held the first packet of a full batch behind some
/// 480 sends (video p99 4.7–5.5 ms against 3.9–4.5 with 8); the CPU per
/// packet and the rooms that fit were the same.
const BATCH: usize = 8;
/// The shortest wait for timeouts that are due again right after being
/// handled: short against a pacing step, long enough not to spin.
pub(crate) const MIN_WAIT: Duration = Duration::from_micros(100);
/// How long a worker without rooms, or whose rooms want nothing sooner, waits.
const IDLE_WAIT: Duration = Duration::from_secs(1);

type Reply<T> = oneshot::Sender<Result<T, SfuError>>;

pub(crate) enum Command {
    /// The flag: held until `Admit` (a waiting room).
    Join(ParticipantId, String, bool, Reply<String>),
    Admit(ParticipantId, Reply<()>),
    Answer(ParticipantId, String, Reply<()>),
    Offer(ParticipantId, String, Reply<String>),
    Leave(ParticipantId, Reply<()>),
    Close(Reply<()>),
    SetForwarding(ParticipantId, TrackKind, bool, Reply<()>),
    SetPreferredLayer(ParticipantId, Option<usize>, Reply<()>),
    SetScreenShare(ParticipantId, bool, Reply<()>),
    SetReceiveVideo(ParticipantId, bool, Reply<()>),
    Forwarded(ParticipantId, Reply<Forwarded>),
}

pub(crate) enum WorkerMsg {
    Packet {
        key: PeerKey,
        proto: Protocol,
        source: std::net::SocketAddr,
        destination: std::net::SocketAddr,
        data: Vec<u8>,
        /// When the packet was read from its socket.
        at: Instant,
    },
    /// A command waits in the worker's `commands`; this only wakes it.
    Command,
    Shutdown,
}

/// What a worker's inbox is: the sender plus a count of queued packets.
/// Commands go into a queue of their own, which the worker reads before
/// each batch of packets: a mute or an admission never waits behind media.
#[derive(Clone)]
pub(crate) struct Inbox {
    pub tx: Sender<WorkerMsg>,
    pub commands: Sender<(RoomId, Command)>,
    pub queued: Arc<AtomicUsize>,
}

impl Inbox {
    /// Queues a packet unless the worker is too far behind.
    pub fn packet(&self, msg: WorkerMsg) {
        if self.queued.load(Ordering::Relaxed) >= MAX_QUEUED_PACKETS {
            return;
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(msg).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Queues a command and wakes the worker; false once it has stopped.
    pub fn command(&self, room: RoomId, cmd: Command) -> bool {
        self.commands.send((room, cmd)).is_ok() && self.tx.send(WorkerMsg::Command).is_ok()
    }
}

pub(crate) struct Worker {
    pub index: usize,
    pub rx: Receiver<WorkerMsg>,
    pub commands: Receiver<(RoomId, Command)>,
    pub queued: Arc<AtomicUsize>,
    pub rooms: HashMap<RoomId, Room>,
    pub room_of: HashMap<PeerKey, RoomId>,
    pub router: Arc<RwLock<Router>>,
    pub net: NetOut,
    pub events: mpsc::UnboundedSender<Event>,
    pub cfg: Arc<RoomConfig>,
    pub crypto: Arc<CryptoProvider>,
    pub placement: Arc<Placement>,
    /// Rooms that received packets of the current batch.
    pub touched: Vec<RoomId>,
    /// Rooms whose timeouts are due in the current pass (kept to reuse
    /// its allocation: while media flows, a pass runs every 100 µs or so).
    pub due: Vec<RoomId>,
}

impl Worker {
    /// A worker with no rooms yet, and the inbox that feeds it.
    pub fn new(
        index: usize,
        router: Arc<RwLock<Router>>,
        net: NetOut,
        events: mpsc::UnboundedSender<Event>,
        cfg: Arc<RoomConfig>,
        crypto: Arc<CryptoProvider>,
        placement: Arc<Placement>,
    ) -> (Worker, Inbox) {
        let (tx, rx) = channel();
        let (commands_tx, commands) = channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let inbox = Inbox {
            tx,
            commands: commands_tx,
            queued: queued.clone(),
        };
        let worker = Worker {
            index,
            rx,
            commands,
            queued,
            rooms: HashMap::new(),
            room_of: HashMap::new(),
            router,
            net,
            events,
            cfg,
            crypto,
            placement,
            touched: Vec::new(),
            due: Vec::new(),
        };
        (worker, inbox)
    }

    pub fn run(mut self) {
        loop {
            self.take_commands();
            let now = Instant::now();
            let deadline = self.next_deadline(now);
            let mut wait = deadline.saturating_duration_since(now);
            if wait.is_zero() {
                // While media flows, str0m often reports connections due
                // again soon (its pacer holds more packets). A fixed 1 ms
                // wait here held every paced packet up to that long (a
                // 16-person room's video p99 about 8 ms; about 4 ms now).
                // Those due at once are drained by the participant itself
                // (`Participant::drain`).
                let next = self.timeouts(now);
                wait = next.saturating_duration_since(Instant::now()).max(MIN_WAIT);
            }
            let msg = match self.rx.recv_timeout(wait) {
                Ok(WorkerMsg::Packet {
                    key,
                    proto,
                    source,
                    destination,
                    data,
                    at,
                }) => {
                    self.queued.fetch_sub(1, Ordering::Relaxed);
                    self.packet(key, proto, source, destination, &data, at);
                    self.more_packets()
                }
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    self.timeouts(Instant::now());
                    None
                }
            };
            match msg {
                Some(WorkerMsg::Shutdown) => break,
                // Commands are taken at the top of the loop; `more_packets`
                // hands back only what is not a packet.
                Some(WorkerMsg::Command | WorkerMsg::Packet { .. }) | None => {}
            }
        }
        let now = Instant::now();
        for room in self.rooms.values_mut() {
            room.close(now);
        }
        let ids: Vec<RoomId> = self.rooms.keys().cloned().collect();
        for id in ids {
            self.flush(&id);
        }
        debug!(worker = self.index, "stopped");
    }

    /// The earliest moment a room wants its timeouts handled.
    fn next_deadline(&self, now: Instant) -> Instant {
        self.rooms
            .values()
            .map(Room::poll_timeout)
            .min()
            .unwrap_or(now + IDLE_WAIT)
    }

    /// Handles the rooms whose timeouts are due; returns `next_deadline` as
    /// it stands afterwards, from the same walk over the rooms.
    fn timeouts(&mut self, now: Instant) -> Instant {
        let mut next = now + IDLE_WAIT;
        let mut due = mem::take(&mut self.due);
        for (id, room) in &self.rooms {
            let at = room.poll_timeout();
            if at <= now {
                due.push(id.clone());
            } else {
                next = next.min(at);
            }
        }
        for id in due.drain(..) {
            if let Some(room) = self.rooms.get_mut(&id) {
                room.handle_timeout(now);
            }
            self.flush(&id);
            if let Some(room) = self.rooms.get(&id) {
                next = next.min(room.poll_timeout());
            }
        }
        self.due = due;
        next
    }

    /// Takes the packets already waiting (up to `BATCH`) and then sends what
    /// they forwarded, each subscriber drained once. Returns the message that
    /// ended the batch when it was not a packet.
    fn more_packets(&mut self) -> Option<WorkerMsg> {
        let mut other = None;
        for _ in 1..BATCH {
            match self.rx.try_recv() {
                Ok(WorkerMsg::Packet {
                    key,
                    proto,
                    source,
                    destination,
                    data,
                    at,
                }) => {
                    self.queued.fetch_sub(1, Ordering::Relaxed);
                    self.packet(key, proto, source, destination, &data, at);
                }
                Ok(msg) => {
                    other = Some(msg);
                    break;
                }
                Err(_) => break,
            }
        }
        let now = Instant::now();
        let mut touched = mem::take(&mut self.touched);
        for id in touched.drain(..) {
            if let Some(room) = self.rooms.get_mut(&id) {
                room.send_received(now);
            }
            self.flush(&id);
        }
        self.touched = touched;
        other
    }

    /// The commands queued so far, in order.
    fn take_commands(&mut self) {
        while let Ok((room, cmd)) = self.commands.try_recv() {
            self.command(room, cmd);
        }
    }

    fn packet(
        &mut self,
        key: PeerKey,
        proto: Protocol,
        source: std::net::SocketAddr,
        destination: std::net::SocketAddr,
        data: &[u8],
        at: Instant,
    ) {
        let now = Instant::now();
        if now.saturating_duration_since(at) > MAX_PACKET_WAIT {
            self.net.counters.late();
            return;
        }
        let Some(id) = self.room_of.get(&key).cloned() else {
            return;
        };
        let Ok(contents) = data.try_into() else {
            return;
        };
        let recv = Receive {
            proto,
            source,
            destination,
            contents,
        };
        if let Some(room) = self.rooms.get_mut(&id) {
            room.handle_receive(now, key, recv);
        }
        if !self.touched.contains(&id) {
            self.touched.push(id);
        }
    }

    /// Handles a call routed here by the placement, and tells it so.
    fn command(&mut self, id: RoomId, cmd: Command) {
        self.run_command(id.clone(), cmd);
        self.placement.handled(&id, self.rooms.contains_key(&id));
    }

    fn run_command(&mut self, id: RoomId, cmd: Command) {
        let now = Instant::now();
        if let Command::Join(who, sdp, held, reply) = cmd {
            let room = self.rooms.entry(id.clone()).or_insert_with(|| {
                Room::new(id.clone(), self.cfg.clone(), self.crypto.clone(), now)
            });
            let _ = reply.send(room.join_as(now, who, &sdp, held));
            self.flush(&id);
            return;
        }
        let Some(room) = self.rooms.get_mut(&id) else {
            reply_no_room(cmd);
            return;
        };
        // A dropped reply only means the caller stopped waiting.
        match cmd {
            Command::Join(..) => {}
            Command::Answer(who, sdp, r) => drop(r.send(room.answer(now, &who, &sdp))),
            Command::Offer(who, sdp, r) => drop(r.send(room.offer(now, &who, &sdp))),
            Command::Leave(who, r) => drop(r.send(room.leave(now, &who))),
            Command::Admit(who, r) => drop(r.send(room.admit(now, &who))),
            Command::Close(r) => {
                room.close(now);
                drop(r.send(Ok(())));
            }
            Command::SetForwarding(who, kind, on, r) => {
                drop(r.send(room.set_forwarding(now, &who, kind, on)))
            }
            Command::SetPreferredLayer(who, max, r) => {
                drop(r.send(room.set_preferred_layer(&who, max)))
            }
            Command::SetScreenShare(who, allowed, r) => {
                drop(r.send(room.set_screen_share(now, &who, allowed)))
            }
            Command::SetReceiveVideo(who, on, r) => {
                drop(r.send(room.set_receive_video(now, &who, on)))
            }
            Command::Forwarded(who, r) => drop(r.send(room.forwarded_to(&who))),
        }
        self.flush(&id);
    }

    /// Sends what a room produced and forgets the room once it is empty.
    fn flush(&mut self, id: &RoomId) {
        let Some(room) = self.rooms.get_mut(id) else {
            return;
        };
        self.net.send_all(&room.transmits);
        room.transmits.clear();
        for e in room.events.drain(..) {
            if self.events.send(e).is_err() {
                warn!("event receiver dropped");
            }
        }
        let joined_or_left = !room.routes.is_empty();
        if joined_or_left {
            let mut router = self.router.write().unwrap_or_else(|p| p.into_inner());
            for change in room.routes.drain(..) {
                match change {
                    RouteChange::Add { key, ufrag } => {
                        router.add(self.index, key, ufrag);
                        self.room_of.insert(key, id.clone());
                    }
                    RouteChange::Remove { key } => {
                        router.remove(key);
                        self.room_of.remove(&key);
                    }
                }
            }
        }
        if room.is_empty() {
            self.rooms.remove(id);
            self.placement.emptied(id);
        }
        if joined_or_left {
            let pairs = self
                .rooms
                .values()
                .map(|r| {
                    let n = r.participants();
                    n * n.saturating_sub(1)
                })
                .sum();
            self.placement.set_pairs(self.index, pairs);
        }
    }
}

fn reply_no_room(cmd: Command) {
    match cmd {
        Command::Join(_, _, _, r) | Command::Offer(_, _, r) => {
            drop(r.send(Err(SfuError::NoSuchRoom)))
        }
        Command::Answer(_, _, r)
        | Command::Leave(_, r)
        | Command::Admit(_, r)
        | Command::Close(r)
        | Command::SetForwarding(_, _, _, r)
        | Command::SetPreferredLayer(_, _, r)
        | Command::SetScreenShare(_, _, r)
        | Command::SetReceiveVideo(_, _, r) => drop(r.send(Err(SfuError::NoSuchRoom))),
        Command::Forwarded(_, r) => drop(r.send(Err(SfuError::NoSuchRoom))),
    }
}
