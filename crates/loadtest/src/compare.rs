//! `room-load compare`: the same synthetic room against Regroup's engine in
//! its own process, Janus's VideoRoom and a plain UDP relay, in one run.
//! Each target, room size and repeat gives a [`Sample`]; the medians go into
//! a Markdown table and an SVG chart in docs/benchmarks.md.

use std::time::Duration;

use anyhow::bail;

use crate::bench::BenchConfig;
use crate::cpu::load_average;
use crate::figures::{RunInfo, Sample};
use crate::targets::{self, Observed};

pub use crate::figures::Sample as CompareSample;

/// Rooms whose receivers lose less than this share of frames "fit"...
pub const LOSS_LIMIT_PCT: f64 = 0.5;
/// ...and whose video arrives within this many ms at p99. A server that
/// queues instead of dropping loses nothing while its delay grows to
/// seconds (an earlier engine "fitted" 17 rooms of 4 at a p99 of 1.7 s).
/// A conversation's one-way budget is about 150 ms mouth to ear (ITU-T
/// G.114), most of it taken by capture, the network and the receivers'
/// jitter buffers: a server should spend at most a third of it.
pub const DELAY_LIMIT_MS: f64 = 50.0;

/// Whether a run's load fits: little loss and little added delay. A run
/// that delivered no video (a NaN delay) does not fit.
pub fn fits(s: &Sample) -> bool {
    s.loss_pct < LOSS_LIMIT_PCT && s.delay_p99_ms < DELAY_LIMIT_MS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Regroup,
    Janus,
    Relay,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::Regroup, Target::Janus, Target::Relay];

    pub fn name(self) -> &'static str {
        match self {
            Target::Regroup => "regroup",
            Target::Janus => "janus",
            Target::Relay => "relay",
        }
    }

    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == s)
    }

    fn run(self, cfg: &BenchConfig) -> anyhow::Result<Observed> {
        match self {
            Target::Regroup => targets::regroup::run(cfg),
            Target::Janus => targets::janus::run(cfg),
            Target::Relay => targets::relay::run(cfg),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CompareConfig {
    pub targets: Vec<Target>,
    pub sizes: Vec<usize>,
    pub repeats: usize,
    /// Warm-up, window, workers and layer rule for every run.
    pub base: BenchConfig,
    /// Room size for the "how many rooms fit" search; `None` skips it.
    pub capacity_room: Option<usize>,
    /// Most rooms the search tries.
    pub capacity_max_rooms: usize,
}

/// Runs one target once and turns what the peers saw into a sample.
pub fn sample(target: Target, cfg: &BenchConfig, repeat: usize) -> anyhow::Result<Sample> {
    let o = target.run(cfg)?;
    let peers: Vec<_> = o.peers.iter().collect();
    Ok(Sample::new(
        RunInfo {
            target: target.name(),
            participants: cfg.participants,
            rooms: cfg.rooms,
            repeat,
            window: o.window,
            server_cpu: o.server_cpu,
            harness_cpu: o.harness_cpu,
            join: o.join,
            load_average: load_average().unwrap_or(f64::NAN),
        },
        &peers,
    ))
}

/// Everything one compare run found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every run, repeats first, in the order they ran.
    pub samples: Vec<Sample>,
    /// The median per target and size.
    pub medians: Vec<Sample>,
    /// Runs that failed: target, size, why.
    pub failures: Vec<String>,
    /// Per target: rooms of `capacity_room` people that fit, and the
    /// sample of the largest such run.
    pub capacity: Vec<(Target, usize, Option<Sample>)>,
}

impl Outcome {
    /// The capacity search's result for `target`: rooms that fit and the
    /// sample of the largest such run.
    pub fn fit(&self, target: Target) -> Option<(usize, Option<&Sample>)> {
        self.capacity
            .iter()
            .find(|(c, _, _)| *c == target)
            .map(|(_, rooms, best)| (*rooms, best.as_ref()))
    }

    /// The largest measured room size whose median run [`fits`].
    pub fn largest_room(&self, target: Target) -> Option<usize> {
        self.medians
            .iter()
            .filter(|m| m.target == target.name() && fits(m))
            .map(|m| m.participants)
            .max()
    }
}

/// Runs the comparison; `emit` gets each sample as it is measured.
pub fn run(cfg: &CompareConfig, mut emit: impl FnMut(&Sample)) -> anyhow::Result<Outcome> {
    if cfg.targets.is_empty() || cfg.sizes.is_empty() || cfg.repeats == 0 {
        bail!("nothing to run: give targets, sizes and at least one repeat");
    }
    let mut out = Outcome::default();
    for &size in &cfg.sizes {
        for &target in &cfg.targets {
            let run_cfg = BenchConfig {
                participants: size,
                rooms: 1,
                ..cfg.base.clone()
            };
            let mut repeats = Vec::new();
            for r in 1..=cfg.repeats {
                match sample(target, &run_cfg, r) {
                    Ok(s) => {
                        emit(&s);
                        repeats.push(s);
                    }
                    Err(e) => out.failures.push(format!(
                        "{} with {size} people, repeat {r}: {e:#}",
                        target.name()
                    )),
                }
            }
            if let Some(m) = Sample::median(&repeats) {
                emit(&m);
                out.medians.push(m);
            }
            out.samples.extend(repeats);
        }
    }
    if let Some(size) = cfg.capacity_room {
        for &target in &cfg.targets {
            let (fit, best) = most_rooms(target, cfg, size, &mut emit, &mut out.failures);
            out.capacity.push((target, fit, best));
        }
    }
    Ok(out)
}

/// Doubles the number of rooms of `size` people until a run no longer
/// [`fits`] (or fails), then narrows down between the last good and first bad
/// count. One run per step: this is a search, not a measurement.
fn most_rooms(
    target: Target,
    cfg: &CompareConfig,
    size: usize,
    emit: &mut impl FnMut(&Sample),
    failures: &mut Vec<String>,
) -> (usize, Option<Sample>) {
    let mut try_rooms = |rooms: usize| -> Option<Sample> {
        let run_cfg = BenchConfig {
            participants: size,
            rooms,
            ..cfg.base.clone()
        };
        match sample(target, &run_cfg, 1) {
            Ok(s) => {
                emit(&s);
                fits(&s).then_some(s)
            }
            Err(e) => {
                failures.push(format!(
                    "{} with {rooms} rooms of {size}: {e:#}",
                    target.name()
                ));
                None
            }
        }
    };
    let (mut good, mut best, mut bad) = (0, None, None);
    let mut rooms = 1;
    while rooms <= cfg.capacity_max_rooms {
        match try_rooms(rooms) {
            Some(s) => {
                (good, best) = (rooms, Some(s));
                rooms *= 2;
            }
            None => {
                bad = Some(rooms);
                break;
            }
        }
    }
    let Some(mut bad) = bad else {
        return (good, best);
    };
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        match try_rooms(mid) {
            Some(s) => (good, best) = (mid, Some(s)),
            None => bad = mid,
        }
    }
    (good, best)
}

/// Seconds a compare run takes at most, roughly, for the help text and the
/// script's estimate: setup, warm-up and window per run.
pub fn estimate(cfg: &CompareConfig) -> Duration {
    let per_run = cfg.base.warmup + cfg.base.window + Duration::from_secs(3);
    per_run * (cfg.targets.len() * cfg.sizes.len() * cfg.repeats) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(loss_pct: f64, delay_p99_ms: f64) -> Sample {
        let mut s = Sample::blank("regroup", 4, 10);
        (s.loss_pct, s.delay_p99_ms) = (loss_pct, delay_p99_ms);
        s
    }

    #[test]
    fn a_load_fits_only_with_little_loss_and_little_delay() {
        assert!(fits(&run(0.0, 4.5)));
        assert!(fits(&run(0.49, 49.0)));
        assert!(!fits(&run(0.5, 4.5)), "too much loss");
        // No loss, but queued for 1.7 s: what the old engine reported as fitting.
        assert!(!fits(&run(0.0, 1_700.0)), "too late");
        assert!(!fits(&run(0.0, f64::NAN)), "no video arrived");
    }
}
