//! One bench run: start the engine, join N synthetic peers into one room,
//! answer the engine's offers as the web app would, wait until everyone
//! receives everyone, warm up, then measure a window.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use regroup_sfu::{Sfu, SfuConfig};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::cpu::{load_average, ThreadTimes};
use crate::engine::{Engine, EngineEvent, InProcess};
use crate::peer::{Control, Peer, PeerSetup};
use crate::report::{PeerWindow, Report};
use crate::stats::{peer_name, Counters};

/// Which simulcast layer subscribers are capped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerChoice {
    /// What the web app picks for this many people in a grid.
    App,
    /// No cap: bandwidth estimation alone decides.
    Uncapped,
    /// At most this layer index (0 = q).
    Max(usize),
}

impl LayerChoice {
    pub fn cap_for(self, participants: usize) -> Option<usize> {
        match self {
            LayerChoice::App => app_layer_cap(participants),
            LayerChoice::Uncapped => None,
            LayerChoice::Max(i) => Some(i),
        }
    }
}

/// The web app's rule for grid tiles (`layer_cap` in
/// crates/app/src/room/actor/media.rs), restated here because the app is not a
/// dependency worth pulling into a benchmark: full size up to 4 people, half
/// size up to 9, quarter size beyond.
pub fn app_layer_cap(people: usize) -> Option<usize> {
    match people {
        0..=4 => None,
        5..=9 => Some(1),
        _ => Some(0),
    }
}

#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// People in each room.
    pub participants: usize,
    /// Rooms of that size running at once (`room-load compare` looks for
    /// how many fit; `room-load` alone runs one).
    pub rooms: usize,
    pub simulcast: bool,
    pub layer: LayerChoice,
    pub workers: usize,
    /// Media flowing before the window opens (BWE ramps up, layers settle).
    pub warmup: Duration,
    pub window: Duration,
    /// Longest wait for everyone to receive everyone before giving up.
    pub connect_timeout: Duration,
    /// Where Janus and its peers put their media (see targets/janus.rs);
    /// the other targets use 127.0.0.1.
    pub janus_ip: Option<IpAddr>,
}

impl BenchConfig {
    pub fn new(participants: usize) -> BenchConfig {
        BenchConfig {
            participants,
            rooms: 1,
            simulcast: true,
            layer: LayerChoice::App,
            workers: SfuConfig::default().workers,
            warmup: Duration::from_secs(5),
            window: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(30),
            janus_ip: None,
        }
    }
}

/// Runs the bench once and returns what the window measured.
pub fn run(cfg: &BenchConfig) -> anyhow::Result<Report> {
    if !(2..=16).contains(&cfg.participants) {
        bail!("participants must be 2 to 16 (the engine's room limit)");
    }
    let (sfu, events) = Sfu::start(SfuConfig {
        udp_addr: "127.0.0.1:0".parse()?,
        tcp_addr: None,
        workers: cfg.workers,
        ..SfuConfig::default()
    })?;
    let w = drive(cfg, InProcess { sfu, events }, ThreadTimes::sample)?;
    let (cpu0, cpu1) = (&w.cpu_before, &w.cpu_after);
    Ok(Report {
        participants: cfg.participants,
        workers: cfg.workers,
        simulcast: cfg.simulcast,
        layer_cap: cfg.layer.cap_for(cfg.participants),
        window: w.duration,
        connect_time: w.connect_time,
        workers_cpu: cpu1.since(cpu0, "sfu-worker"),
        busiest_worker_cpu: cpu1.busiest_since(cpu0, "sfu-worker"),
        udp_reader_cpu: cpu1.since(cpu0, "sfu-udp"),
        peers_cpu: cpu1.since(cpu0, PEER_THREAD),
        process_cpu: cpu1.since(cpu0, ""),
        offers_failed: w.offers_failed,
        load_average: load_average(),
        peers: w.peers,
    })
}

/// What one room measured over its window, with the CPU samples taken at
/// either end of it.
pub struct Window<T> {
    pub connect_time: Duration,
    pub duration: Duration,
    pub peers: Vec<PeerWindow>,
    pub offers_failed: u64,
    pub cpu_before: T,
    pub cpu_after: T,
}

/// Joins the room through `engine`, waits until everyone receives everyone,
/// warms up and measures the window, calling `sample_cpu` at its edges.
pub fn drive<E: Engine, T>(
    cfg: &BenchConfig,
    engine: E,
    sample_cpu: impl Fn() -> std::io::Result<T>,
) -> anyhow::Result<Window<T>> {
    if !(2..=16).contains(&cfg.participants) {
        bail!("participants must be 2 to 16 (the engine's room limit)");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let mut session = Session {
        engine,
        peers: Vec::new(),
        stop: Arc::new(AtomicBool::new(false)),
        offers_failed: 0,
        answering: JoinSet::new(),
        disconnects: Vec::new(),
    };
    let result = measure(cfg, &rt, &mut session, sample_cpu);
    session.stop();
    result
}

fn measure<E: Engine, T>(
    cfg: &BenchConfig,
    rt: &Runtime,
    s: &mut Session<E>,
    sample_cpu: impl Fn() -> std::io::Result<T>,
) -> anyhow::Result<Window<T>> {
    let cap = cfg.layer.cap_for(cfg.participants);
    let start = Instant::now();
    for i in 0..cfg.participants * cfg.rooms {
        let (room, index) = (room_name(i / cfg.participants), i % cfg.participants);
        rt.block_on(s.join(room, index, cfg.simulcast, cap))?;
    }
    let deadline = Instant::now() + cfg.connect_timeout;
    while !s.everyone_receives_everyone(cfg.participants)? {
        if Instant::now() > deadline {
            let got: Vec<String> = s
                .snapshot()
                .iter()
                .map(|(name, c)| {
                    format!(
                        "{name}: {}a/{}v",
                        c.audio_publishers(),
                        c.video_publishers()
                    )
                })
                .collect();
            bail!("media did not reach everyone in time: {}", got.join(", "));
        }
        rt.block_on(s.pump(Duration::from_millis(50)))?;
    }
    let connect_time = start.elapsed();
    rt.block_on(s.pump(cfg.warmup))?;
    let (cpu0, peers0, t0) = (sample_cpu()?, s.snapshot(), Instant::now());
    rt.block_on(s.pump(cfg.window))?;
    let (cpu1, peers1, t1) = (sample_cpu()?, s.snapshot(), Instant::now());
    if !s.disconnects.is_empty() {
        bail!("peers dropped during the run: {}", s.disconnects.join(", "));
    }
    let peers = peers1
        .iter()
        .zip(&peers0)
        .map(|((name, now), (_, then))| PeerWindow {
            name: name.clone(),
            counters: now.since(then),
        })
        .collect();
    Ok(Window {
        connect_time,
        duration: t1 - t0,
        peers,
        offers_failed: s.offers_failed,
        cpu_before: cpu0,
        cpu_after: cpu1,
    })
}

/// A peer's answer to an engine offer: room, participant, the SDP.
type Answered = anyhow::Result<(String, String, String)>;

/// Peer threads are named `peer-NN`, so CPU can be attributed to them.
pub const PEER_THREAD: &str = "peer-";

/// The engine's name for room `i` of a run.
pub fn room_name(i: usize) -> String {
    format!("load-{i}")
}

struct PeerHandle {
    room: String,
    name: String,
    control: mpsc::Sender<Control>,
    stats: Arc<Mutex<Counters>>,
    thread: JoinHandle<()>,
}

/// The engine, its event stream and the running peers: the part of the web
/// app that signals, reduced to what a room needs.
struct Session<E> {
    engine: E,
    peers: Vec<PeerHandle>,
    stop: Arc<AtomicBool>,
    /// Engine offers whose answer the engine refused (e.g. superseded).
    offers_failed: u64,
    /// Answers the peers are working out, each as its peer's own thread
    /// does it: like browsers, they answer at the same time, not in turn.
    answering: JoinSet<Answered>,
    disconnects: Vec<String>,
}

impl<E: Engine> Session<E> {
    async fn join(
        &mut self,
        room: String,
        index: usize,
        simulcast: bool,
        cap: Option<usize>,
    ) -> anyhow::Result<()> {
        let name = peer_name(index);
        let stats = Arc::new(Mutex::new(Counters::default()));
        let (mut peer, offer) = Peer::new(PeerSetup::new(index, simulcast), stats.clone())?;
        let answer = self.engine.join(&room, &name, offer).await?;
        peer.accept_answer(&answer)?;
        // As the web app does for each participant who joins.
        self.engine.set_layer(&room, &name, cap).await?;
        let (control, inbox) = mpsc::channel();
        let stop = self.stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{PEER_THREAD}{:02}", self.peers.len() + 1))
            .spawn(move || peer.run(inbox, stop))
            .context("spawning a peer thread")?;
        self.peers.push(PeerHandle {
            room,
            name,
            control,
            stats,
            thread,
        });
        Ok(())
    }

    /// Handles engine events, and passes on the peers' answers, for `d`.
    async fn pump(&mut self, d: Duration) -> anyhow::Result<()> {
        let until = tokio::time::Instant::now() + d;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return Ok(()),
                event = self.engine.next_event() => match event {
                    None => bail!("the engine stopped"),
                    Some(event) => self.event(event)?,
                },
                Some(answered) = self.answering.join_next(), if !self.answering.is_empty() => {
                    let (room, participant, answer) = answered??;
                    if self.engine.answer(&room, &participant, answer).await.is_err() {
                        self.offers_failed += 1;
                    }
                }
            }
        }
    }

    fn event(&mut self, event: EngineEvent) -> anyhow::Result<()> {
        match event {
            EngineEvent::Offer {
                room,
                participant,
                sdp,
            } => {
                let peer = self
                    .peers
                    .iter()
                    .find(|p| p.name == participant && p.room == room)
                    .context("an offer for an unknown peer")?;
                let (reply, answer) = oneshot::channel();
                peer.control
                    .send(Control::Offer(sdp, reply))
                    .context("the peer stopped")?;
                self.answering.spawn(async move {
                    let sdp = answer.await.context("the peer stopped")??;
                    Ok((room, participant, sdp))
                });
            }
            EngineEvent::Disconnected {
                room,
                participant,
                reason,
            } => self
                .disconnects
                .push(format!("{room}/{participant} ({reason})")),
        }
        Ok(())
    }

    fn snapshot(&self) -> Vec<(String, Counters)> {
        self.peers
            .iter()
            .map(|p| {
                let c = p.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
                (p.name.clone(), c)
            })
            .collect()
    }

    fn everyone_receives_everyone(&self, room_size: usize) -> anyhow::Result<bool> {
        everyone_receives_everyone(&self.snapshot(), room_size)
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for p in self.peers.drain(..) {
            // A panicked peer has already shown up as missing media.
            let _ = p.thread.join();
        }
        self.engine.shutdown();
    }
}

/// True when each peer gets audio and camera from all `room_size - 1`
/// others; a peer that failed ends the wait with its error.
pub fn everyone_receives_everyone(
    peers: &[(String, Counters)],
    room_size: usize,
) -> anyhow::Result<bool> {
    let others = room_size - 1;
    let mut all = true;
    for (name, c) in peers {
        if let Some(e) = &c.error {
            bail!("peer {name} failed: {e}");
        }
        all &= c.audio_publishers() == others && c.video_publishers() == others;
    }
    Ok(all)
}
