//! The servers `room-load compare` measures: Regroup's engine in its own
//! process, Janus's VideoRoom, and a plain UDP relay.

pub mod http;
pub mod janus;
pub mod janus_api;
pub mod regroup;
pub mod relay;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::control::Message;

/// A server child that announced its UDP address with a `ready` line; ends
/// when dropped.
pub struct ReadyChild {
    pub child: Child,
    pub udp: SocketAddr,
    /// Kept open: closing it tells the server to stop.
    stdin: Option<ChildStdin>,
}

impl ReadyChild {
    pub fn start(program: &Path) -> anyhow::Result<ReadyChild> {
        let mut child = Command::new(program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let stdout: ChildStdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Ok(Message::Ready { udp }) = serde_json::from_str(line.trim_end()) else {
            let _ = child.kill();
            anyhow::bail!("{} did not say it was ready", program.display());
        };
        Ok(ReadyChild {
            stdin: child.stdin.take(),
            child,
            udp,
        })
    }
}

impl Drop for ReadyChild {
    fn drop(&mut self) {
        self.stdin = None;
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::bench::{everyone_receives_everyone, BenchConfig};
use crate::cpu::process_cpu;
use crate::stats::Counters;

/// What one target measured in one run.
pub struct Observed {
    pub join: Duration,
    pub window: Duration,
    /// Each peer's counts over the window.
    pub peers: Vec<Counters>,
    /// The server process's CPU over the window.
    pub server_cpu: Duration,
    /// The harness's own CPU (the synthetic peers) over the window.
    pub harness_cpu: Duration,
}

/// CPU used so far by server `pid` and by this harness.
pub fn cpu_pair(pid: u32) -> std::io::Result<(Duration, Duration)> {
    Ok((process_cpu(pid)?, process_cpu(std::process::id())?))
}

/// Peers of a run whose media the harness does not have to steer: they
/// run on their own threads until `stop`.
#[derive(Default)]
pub struct Crowd {
    pub stats: Vec<(String, Arc<Mutex<Counters>>)>,
    pub threads: Vec<JoinHandle<()>>,
    pub stop: Arc<AtomicBool>,
}

impl Crowd {
    pub fn snapshot(&self) -> Vec<(String, Counters)> {
        self.stats
            .iter()
            .map(|(n, c)| {
                (
                    n.clone(),
                    c.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                )
            })
            .collect()
    }

    /// Waits until everyone receives everyone (counting from `start`), warms
    /// up, then measures the window with the CPU of process `pid`.
    pub fn observe(&self, cfg: &BenchConfig, start: Instant, pid: u32) -> anyhow::Result<Observed> {
        let deadline = start + cfg.connect_timeout;
        while !everyone_receives_everyone(&self.snapshot(), cfg.participants)? {
            if Instant::now() > deadline {
                let got: Vec<String> = self
                    .snapshot()
                    .iter()
                    .map(|(n, c)| {
                        format!("{n}: {}a/{}v", c.audio_publishers(), c.video_publishers())
                    })
                    .collect();
                anyhow::bail!("media did not reach everyone in time: {}", got.join(", "));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let join = start.elapsed();
        std::thread::sleep(cfg.warmup);
        let (cpu0, peers0, t0) = (cpu_pair(pid)?, self.snapshot(), Instant::now());
        std::thread::sleep(cfg.window);
        let (cpu1, peers1, t1) = (cpu_pair(pid)?, self.snapshot(), Instant::now());
        if let Some((n, c)) = peers1.iter().find(|(_, c)| c.error.is_some()) {
            anyhow::bail!(
                "peer {n} failed: {}",
                c.error.as_deref().unwrap_or_default()
            );
        }
        Ok(Observed {
            join,
            window: t1 - t0,
            peers: peers1
                .iter()
                .zip(&peers0)
                .map(|((_, a), (_, b))| a.since(b))
                .collect(),
            server_cpu: cpu1.0.saturating_sub(cpu0.0),
            harness_cpu: cpu1.1.saturating_sub(cpu0.1),
        })
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            // A panicked peer has already shown up as missing media.
            let _ = t.join();
        }
    }
}

impl Drop for Crowd {
    fn drop(&mut self) {
        self.stop();
    }
}
