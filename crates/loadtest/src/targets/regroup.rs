//! Regroup's engine in its own process (`regroup-sfu-server`), driven by the
//! same room driver as `room-load`, its CPU read from /proc/PID/stat.

use crate::bench::{drive, BenchConfig};
use crate::engine::{sibling, Remote};

use super::{cpu_pair, Observed};

pub fn run(cfg: &BenchConfig) -> anyhow::Result<Observed> {
    let engine = Remote::start(&sibling("regroup-sfu-server")?, cfg.workers)?;
    let pid = engine.pid();
    let w = drive(cfg, engine, || cpu_pair(pid))?;
    Ok(Observed {
        join: w.connect_time,
        window: w.duration,
        peers: w.peers.into_iter().map(|p| p.counters).collect(),
        server_cpu: w.cpu_after.0.saturating_sub(w.cpu_before.0),
        harness_cpu: w.cpu_after.1.saturating_sub(w.cpu_before.1),
    })
}
