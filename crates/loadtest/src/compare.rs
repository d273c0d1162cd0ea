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

/// The most rooms of `size` people that [`fit`](fits) on `target`, and the
/// sample of the run that confirmed it (see [`most_that_fit`]).
fn most_rooms(
    target: Target,
    cfg: &CompareConfig,
    size: usize,
    emit: &mut impl FnMut(&Sample),
    failures: &mut Vec<String>,
) -> (usize, Option<Sample>) {
    most_that_fit(cfg.capacity_max_rooms, |rooms| {
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
    })
}

/// Doubles the count (from 1, at most `max`) until `run` says it no longer
/// fits, narrows down between the last count that fitted and the first that
/// did not, and then runs the count found once more. One run near the limit
/// is a coin toss (the same build passed 26 rooms after failing 25), so a
/// count counts only when it fits twice; one that fails its second run is
/// taken as not fitting, and the search narrows down below it again.
/// `run` returns what it measured when the count fitted.
fn most_that_fit<T>(max: usize, mut run: impl FnMut(usize) -> Option<T>) -> (usize, Option<T>) {
    // Counts that fitted once, ascending: every step tries more than the last fit.
    let mut fitted = Vec::new();
    let mut bad = None;
    let mut count = 1;
    while count <= max {
        if run(count).is_none() {
            bad = Some(count);
            break;
        }
        fitted.push(count);
        count *= 2;
    }
    loop {
        let Some(&good) = fitted.last() else {
            return (0, None);
        };
        match bad {
            Some(b) if b - good > 1 => {
                let mid = (good + b) / 2;
                match run(mid) {
                    Some(_) => fitted.push(mid),
                    None => bad = Some(mid),
                }
            }
            _ => match run(good) {
                Some(confirmed) => return (good, Some(confirmed)),
                None => {
                    fitted.pop();
                    bad = Some(good);
                }
            },
        }
    }
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

    /// Runs the search against a machine on which counts up to `limit` fit,
    /// except the runs listed in `flukes` (by the order they ran), which
    /// fail; returns the count found and every count tried, in order.
    fn search(max: usize, limit: usize, flukes: &[usize]) -> (usize, Vec<usize>) {
        let mut tried = Vec::new();
        let (found, confirmed) = most_that_fit(max, |count| {
            tried.push(count);
            (count <= limit && !flukes.contains(&tried.len())).then_some(count)
        });
        assert_eq!(
            confirmed,
            (found > 0).then_some(found),
            "the confirming run"
        );
        (found, tried)
    }

    #[test]
    fn the_search_narrows_down_and_runs_the_count_found_again() {
        let (found, tried) = search(256, 26, &[]);
        assert_eq!(found, 26);
        assert_eq!(tried, [1, 2, 4, 8, 16, 32, 24, 28, 26, 27, 26]);
    }

    #[test]
    fn a_count_that_fails_its_second_run_does_not_count() {
        // 26 fits, then fails when run again (the 11th run): 25 is tried and
        // confirmed instead.
        let (found, tried) = search(256, 26, &[11]);
        assert_eq!(found, 25);
        assert_eq!(tried, [1, 2, 4, 8, 16, 32, 24, 28, 26, 27, 26, 25, 25]);
    }

    #[test]
    fn a_fluke_failure_on_the_way_up_only_lowers_the_ceiling() {
        // 16 fails once (the 5th run): the search narrows below it, and 15
        // fits twice.
        let (found, tried) = search(256, 26, &[5]);
        assert_eq!(found, 15);
        assert_eq!(tried, [1, 2, 4, 8, 16, 12, 14, 15, 15]);
    }

    #[test]
    fn the_search_stops_at_its_limit_and_reports_nothing_when_nothing_fits() {
        assert_eq!(
            search(64, 1_000, &[]),
            (64, vec![1, 2, 4, 8, 16, 32, 64, 64])
        );
        assert_eq!(search(64, 0, &[]), (0, vec![1]));
        // One room fits once, then not again.
        assert_eq!(search(64, 1, &[3]), (0, vec![1, 2, 1]));
    }
}
