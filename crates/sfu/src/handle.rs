//! Starting the engine, and the handle the web app drives it through.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::info;

use crate::config::{host_candidates, RoomConfig, SfuConfig};
use crate::demux::Router;
use crate::error::SfuError;
use crate::event::Event;
use crate::ids::{ParticipantId, RoomId, TrackKind};
use crate::net::{udp_loop, Dispatch, NetOut};
use crate::placement::Placement;
use crate::tcp::{accept_loop, TcpConns};
use crate::traffic::{Counters, Forwarded, Traffic};
use crate::worker::{Command, Inbox, Worker, WorkerMsg};

/// The engine's events, for the web app to read (and act on `Offer`s).
pub type EventReceiver = mpsc::UnboundedReceiver<Event>;

/// Entry point of the media engine.
pub struct Sfu;

impl Sfu {
    /// Binds the sockets and starts the threads: one UDP reader, one TCP
    /// acceptor (plus a reader and writer per TCP connection) and
    /// `config.workers` room workers.
    pub fn start(config: SfuConfig) -> Result<(SfuHandle, EventReceiver), SfuError> {
        let io = |what: &str| {
            let what = what.to_owned();
            move |e: std::io::Error| SfuError::Io(format!("{what}: {e}"))
        };
        let udp = UdpSocket::bind(config.udp_addr).map_err(io("binding the UDP socket"))?;
        let udp_addr = udp.local_addr().map_err(io("reading the UDP address"))?;
        let granted = crate::net::widen_buffers(&udp).map_err(io("sizing the UDP buffers"))?;
        if granted < crate::net::SOCKET_BUFFER {
            tracing::info!(
                granted,
                wanted = crate::net::SOCKET_BUFFER,
                "the kernel caps the UDP receive buffer (net.core.rmem_max); bursts may drop"
            );
        }
        // The reader wakes this often to notice shutdown.
        udp.set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(io("setting the UDP timeout"))?;
        let tcp = match config.tcp_addr {
            Some(addr) => {
                let l = TcpListener::bind(addr).map_err(io("binding the TCP listener"))?;
                l.set_nonblocking(true)
                    .map_err(io("configuring the TCP listener"))?;
                Some(l)
            }
            None => None,
        };
        let tcp_addr = match &tcp {
            Some(l) => Some(l.local_addr().map_err(io("reading the TCP address"))?),
            None => None,
        };
        let room_cfg = Arc::new(RoomConfig {
            candidates: host_candidates(&config.public_ips, udp_addr, tcp_addr)?,
            silence_timeout: config.silence_timeout,
            max_participants: config.max_participants,
            offer_timeout: config.offer_timeout,
        });
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let udp = Arc::new(udp);
        let counters = Arc::new(Counters::default());
        let net = NetOut {
            udp: udp.clone(),
            tcp: TcpConns::default(),
            counters: counters.clone(),
        };
        let router = Arc::new(RwLock::new(Router::default()));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let mut inboxes = Vec::new();
        let workers = config.workers.max(1);
        let placement = Arc::new(Placement::new(workers));
        let spawn = |name: String, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name)
                .spawn(f)
                .map_err(|e| SfuError::Io(format!("spawning a thread: {e}")))
        };
        for index in 0..workers {
            let (worker, inbox) = Worker::new(
                index,
                router.clone(),
                net.clone(),
                events_tx.clone(),
                room_cfg.clone(),
                crypto.clone(),
                placement.clone(),
            );
            inboxes.push(inbox);
            threads.push(spawn(
                format!("sfu-worker-{index}"),
                Box::new(move || worker.run()),
            )?);
        }
        let dispatch = Dispatch {
            router,
            inboxes: inboxes.clone(),
            cfg: room_cfg,
            counters: counters.clone(),
        };
        {
            let (dispatch, stop) = (dispatch.clone(), stop.clone());
            threads.push(spawn(
                "sfu-udp".into(),
                Box::new(move || udp_loop(udp, dispatch, stop)),
            )?);
        }
        if let Some(listener) = tcp {
            let (conns, stop) = (net.tcp.clone(), stop.clone());
            threads.push(spawn(
                "sfu-tcp".into(),
                Box::new(move || accept_loop(listener, conns, dispatch, stop)),
            )?);
        }
        info!(%udp_addr, ?tcp_addr, workers = inboxes.len(), "media engine started");
        let inner = Inner {
            inboxes,
            placement,
            udp_addr,
            tcp_addr,
            stop,
            threads: Mutex::new(threads),
            counters,
        };
        Ok((
            SfuHandle {
                inner: Arc::new(inner),
            },
            events_rx,
        ))
    }
}

struct Inner {
    inboxes: Vec<Inbox>,
    placement: Arc<Placement>,
    udp_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    counters: Arc<Counters>,
}

impl Inner {
    fn shutdown(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for inbox in &self.inboxes {
            let _ = inbox.tx.send(WorkerMsg::Shutdown);
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Cheap to clone; the engine stops when the last clone is dropped or on
/// [`SfuHandle::shutdown`].
#[derive(Clone)]
pub struct SfuHandle {
    inner: Arc<Inner>,
}

impl SfuHandle {
    /// The bound UDP address (useful with port 0).
    pub fn udp_addr(&self) -> SocketAddr {
        self.inner.udp_addr
    }

    /// The bound ICE-TCP address, if TCP is enabled.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.inner.tcp_addr
    }

    /// Packets and bytes through the engine's sockets so far.
    pub fn traffic(&self) -> Traffic {
        self.inner.counters.read()
    }

    /// Adds a participant to a room (created on first join) from the
    /// browser's offer and returns the answer SDP.
    pub async fn join(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
        offer_sdp: impl Into<String>,
    ) -> Result<String, SfuError> {
        let (p, sdp) = (participant.into(), offer_sdp.into());
        self.call(room.into(), |r| Command::Join(p, sdp, false, r))
            .await
    }

    /// Like [`SfuHandle::join`], but the participant is held (a waiting
    /// room): their connection comes up (ICE, DTLS) and the room's tracks
    /// are offered to them (an [`Event::Offer`]), while nothing is written
    /// to them and nothing of theirs reaches anyone, until
    /// [`SfuHandle::admit`]. To turn them away, [`SfuHandle::leave`].
    pub async fn join_held(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
        offer_sdp: impl Into<String>,
    ) -> Result<String, SfuError> {
        let (p, sdp) = (participant.into(), offer_sdp.into());
        self.call(room.into(), |r| Command::Join(p, sdp, true, r))
            .await
    }

    /// Lets a held participant in: the room's tracks, negotiated while they
    /// waited, start at once from a keyframe; theirs are offered to the
    /// others. Admitting a participant who is not held does nothing.
    pub async fn admit(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
    ) -> Result<(), SfuError> {
        let p = participant.into();
        self.call(room.into(), |r| Command::Admit(p, r)).await
    }

    /// The browser's answer to an [`Event::Offer`].
    pub async fn answer(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
        answer_sdp: impl Into<String>,
    ) -> Result<(), SfuError> {
        let (p, sdp) = (participant.into(), answer_sdp.into());
        self.call(room.into(), |r| Command::Answer(p, sdp, r)).await
    }

    /// A browser-initiated re-offer (screen share, ICE restart); returns the answer.
    pub async fn offer(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
        offer_sdp: impl Into<String>,
    ) -> Result<String, SfuError> {
        let (p, sdp) = (participant.into(), offer_sdp.into());
        self.call(room.into(), |r| Command::Offer(p, sdp, r)).await
    }

    /// Removes a participant; the others are offered the removal of its tracks.
    /// For a reconnect with a new browser connection, call `leave` then `join`;
    /// for an ICE restart on the same connection, use [`SfuHandle::offer`].
    pub async fn leave(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
    ) -> Result<(), SfuError> {
        let p = participant.into();
        self.call(room.into(), |r| Command::Leave(p, r)).await
    }

    /// Disconnects everyone in the room and forgets it.
    pub async fn close_room(&self, room: impl Into<RoomId>) -> Result<(), SfuError> {
        self.call(room.into(), Command::Close).await
    }

    /// Stops (`allowed = false`) or resumes forwarding a participant's audio
    /// or video to the others: the therapist's server-side mute / camera off.
    pub async fn set_forwarding(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
        kind: TrackKind,
        allowed: bool,
    ) -> Result<(), SfuError> {
        let p = participant.into();
        self.call(room.into(), |r| Command::SetForwarding(p, kind, allowed, r))
            .await
    }

    /// Caps the simulcast layer this participant receives (0 = lowest);
    /// `None` lets bandwidth decide alone. For small tiles, pass 0 or 1.
    pub async fn set_preferred_layer(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
        max_layer: Option<usize>,
    ) -> Result<(), SfuError> {
        let p = participant.into();
        self.call(room.into(), |r| Command::SetPreferredLayer(p, max_layer, r))
            .await
    }

    /// Allows (or stops) forwarding a second video track of this participant,
    /// its screen share. Without it the engine forwards one microphone and
    /// one camera per participant and holds back any further track.
    pub async fn set_screen_share(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
        allowed: bool,
    ) -> Result<(), SfuError> {
        let p = participant.into();
        self.call(room.into(), |r| Command::SetScreenShare(p, allowed, r))
            .await
    }

    /// Stops (`false`) or resumes writing video to this participant: their
    /// choice of audio only, which spares their downlink. Resuming asks the
    /// publishers for keyframes, so pictures come back within a second.
    pub async fn set_receive_video(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
        on: bool,
    ) -> Result<(), SfuError> {
        let p = participant.into();
        self.call(room.into(), |r| Command::SetReceiveVideo(p, on, r))
            .await
    }

    /// The media packets the engine has written to this participant.
    pub async fn forwarded_to(
        &self,
        room: impl Into<RoomId>,
        participant: impl Into<ParticipantId>,
    ) -> Result<Forwarded, SfuError> {
        let p = participant.into();
        self.call(room.into(), |r| Command::Forwarded(p, r)).await
    }

    /// Whether every engine thread still runs: false after `shutdown`, or
    /// when a worker or a socket loop has died (a node then is not ready).
    pub fn running(&self) -> bool {
        let threads = self.inner.threads.lock().unwrap_or_else(|p| p.into_inner());
        !self.inner.stop.load(std::sync::atomic::Ordering::Relaxed)
            && !threads.is_empty()
            && threads.iter().all(|t| !t.is_finished())
    }

    /// Stops all engine threads, closing every connection. Idempotent.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    async fn call<T>(
        &self,
        room: RoomId,
        make: impl FnOnce(oneshot::Sender<Result<T, SfuError>>) -> Command,
    ) -> Result<T, SfuError> {
        let (tx, rx) = oneshot::channel();
        let index = self.inner.placement.route(&room);
        let sent = match self.inner.inboxes.get(index) {
            Some(inbox) => inbox.command(room.clone(), make(tx)),
            None => false,
        };
        if !sent {
            self.inner.placement.handled(&room, false);
            return Err(SfuError::Stopped);
        }
        rx.await.map_err(|_| SfuError::Stopped)?
    }
}
