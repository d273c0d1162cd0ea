//! Regroup's engine in its own process (`regroup-sfu-server`), driven by the
//! same room driver as `room-load`, its CPU read from /proc/PID/stat.

use crate::bench::{drive, BenchConfig};
use crate::cpu::process_cpu;
use crate::engine::{sibling, Remote};

use super::Observed;

pub fn run(cfg: &BenchConfig) -> anyhow::Result<Observed> {
    let engine = Remote::start(&sibling("regroup-sfu-server")?, cfg.workers)?;
    let pid = engine.pid();
    let w = drive(cfg, engine, || process_cpu(pid))?;
    Ok(Observed {
        join: w.connect_time,
        window: w.duration,
        peers: w.peers.into_iter().map(|p| p.counters).collect(),
        server_cpu: w.cpu_after.saturating_sub(w.cpu_before),
    })
}
