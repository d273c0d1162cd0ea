//! One bench run: start the engine, join N synthetic peers into one room,
//! answer the engine's offers as the web app would, wait until everyone
//! receives everyone, warm up, then measure a window.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use regroup_sfu::{Event, EventReceiver, Sfu, SfuConfig, SfuHandle};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::cpu::{load_average, ThreadTimes};
use crate::peer::{Control, Peer};
use crate::report::{PeerWindow, Report};
use crate::stats::Counters;

const ROOM: &str = "load";

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
fn app_layer_cap(people: usize) -> Option<usize> {
    match people {
        0..=4 => None,
        5..=9 => Some(1),
        _ => Some(0),
    }
}

#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub participants: usize,
    pub simulcast: bool,
    pub layer: LayerChoice,
    pub workers: usize,
    /// Media flowing before the window opens (BWE ramps up, layers settle).
    pub warmup: Duration,
    pub window: Duration,
    /// Longest wait for everyone to receive everyone before giving up.
    pub connect_timeout: Duration,
}

impl BenchConfig {
    pub fn new(participants: usize) -> BenchConfig {
        BenchConfig {
            participants,
            simulcast: true,
            layer: LayerChoice::App,
            workers: SfuConfig::default().workers,
            warmup: Duration::from_secs(5),
            window: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// Runs the bench once and returns what the window measured.
pub fn run(cfg: &BenchConfig) -> anyhow::Result<Report> {
    if !(2..=16).contains(&cfg.participants) {
        bail!("participants must be 2 to 16 (the engine's room limit)");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let (sfu, events) = Sfu::start(SfuConfig {
        udp_addr: "127.0.0.1:0".parse()?,
        tcp_addr: None,
        workers: cfg.workers,
        ..SfuConfig::default()
    })?;
    let mut session = Session {
        sfu,
        events,
        peers: Vec::new(),
        stop: Arc::new(AtomicBool::new(false)),
        offers_failed: 0,
        disconnects: Vec::new(),
    };
    let result = measure(cfg, &rt, &mut session);
    session.stop();
    result
}

fn measure(cfg: &BenchConfig, rt: &Runtime, s: &mut Session) -> anyhow::Result<Report> {
    let cap = cfg.layer.cap_for(cfg.participants);
    let start = Instant::now();
    for i in 0..cfg.participants {
        rt.block_on(s.join(i, cfg.simulcast, cap))?;
    }
    let deadline = Instant::now() + cfg.connect_timeout;
    while !s.everyone_receives_everyone()? {
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
    let (cpu0, peers0, t0) = (ThreadTimes::sample()?, s.snapshot(), Instant::now());
    rt.block_on(s.pump(cfg.window))?;
    let (cpu1, peers1, t1) = (ThreadTimes::sample()?, s.snapshot(), Instant::now());
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
    Ok(Report {
        participants: cfg.participants,
        workers: cfg.workers,
        simulcast: cfg.simulcast,
        layer_cap: cap,
        window: t1 - t0,
        connect_time,
        workers_cpu: cpu1.since(&cpu0, "sfu-worker"),
        busiest_worker_cpu: cpu1.busiest_since(&cpu0, "sfu-worker"),
        udp_reader_cpu: cpu1.since(&cpu0, "sfu-udp"),
        peers_cpu: cpu1.since(&cpu0, PEER_THREAD),
        process_cpu: cpu1.since(&cpu0, ""),
        offers_failed: s.offers_failed,
        load_average: load_average(),
        peers,
    })
}

/// Peer threads are named `peer-NN`, so CPU can be attributed to them.
const PEER_THREAD: &str = "peer-";

struct PeerHandle {
    name: String,
    control: mpsc::Sender<Control>,
    stats: Arc<Mutex<Counters>>,
    thread: JoinHandle<()>,
}

/// The engine, its event stream and the running peers: the part of the web
/// app that signals, reduced to what a room needs.
struct Session {
    sfu: SfuHandle,
    events: EventReceiver,
    peers: Vec<PeerHandle>,
    stop: Arc<AtomicBool>,
    /// Engine offers whose answer the engine refused (e.g. superseded).
    offers_failed: u64,
    disconnects: Vec<String>,
}

impl Session {
    async fn join(
        &mut self,
        index: usize,
        simulcast: bool,
        cap: Option<usize>,
    ) -> anyhow::Result<()> {
        let name = format!("p{:02}", index + 1);
        let stats = Arc::new(Mutex::new(Counters::default()));
        // One speaker, as in a group where one person talks at a time.
        let (mut peer, offer) = Peer::new(simulcast, index == 0, stats.clone())?;
        let answer = self.sfu.join(ROOM, name.as_str(), offer).await?;
        peer.accept_answer(&answer)?;
        // As the web app does for each participant who joins.
        self.sfu
            .set_preferred_layer(ROOM, name.as_str(), cap)
            .await?;
        let (control, inbox) = mpsc::channel();
        let stop = self.stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{PEER_THREAD}{:02}", index + 1))
            .spawn(move || peer.run(inbox, stop))
            .context("spawning a peer thread")?;
        self.peers.push(PeerHandle {
            name,
            control,
            stats,
            thread,
        });
        Ok(())
    }

    /// Handles engine events for `d`.
    async fn pump(&mut self, d: Duration) -> anyhow::Result<()> {
        let until = tokio::time::Instant::now() + d;
        loop {
            match tokio::time::timeout_at(until, self.events.recv()).await {
                Err(_) => return Ok(()),
                Ok(None) => bail!("the engine stopped"),
                Ok(Some(event)) => self.event(event).await?,
            }
        }
    }

    async fn event(&mut self, event: Event) -> anyhow::Result<()> {
        match event {
            Event::Offer {
                room,
                participant,
                sdp,
            } => {
                let peer = self
                    .peers
                    .iter()
                    .find(|p| p.name == participant.as_str())
                    .context("an offer for an unknown peer")?;
                let (reply, answer) = oneshot::channel();
                peer.control
                    .send(Control::Offer(sdp, reply))
                    .context("the peer stopped")?;
                let answer = answer.await.context("the peer stopped")??;
                if self.sfu.answer(room, participant, answer).await.is_err() {
                    self.offers_failed += 1;
                }
            }
            Event::Disconnected {
                participant,
                reason,
                ..
            } => self.disconnects.push(format!("{participant} ({reason:?})")),
            _ => {}
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

    fn everyone_receives_everyone(&self) -> anyhow::Result<bool> {
        let others = self.peers.len() - 1;
        let mut all = true;
        for (name, c) in self.snapshot() {
            if let Some(e) = c.error {
                bail!("peer {name} failed: {e}");
            }
            all &= c.audio_publishers() == others && c.video_publishers() == others;
        }
        Ok(all)
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for p in self.peers.drain(..) {
            // A panicked peer has already shown up as missing media.
            let _ = p.thread.join();
        }
        self.sfu.shutdown();
    }
}
