//! The figures of one measuring window, and how they are printed.

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::media::LAYERS;
use crate::stats::Counters;

/// One peer's counts over the window.
#[derive(Debug, Clone)]
pub struct PeerWindow {
    pub name: String,
    pub counters: Counters,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub participants: usize,
    pub workers: usize,
    pub simulcast: bool,
    pub layer_cap: Option<usize>,
    pub window: Duration,
    /// From the first join until everyone received everyone's audio and camera.
    pub connect_time: Duration,
    /// All engine workers together; a room lives on one of them.
    pub workers_cpu: Duration,
    pub busiest_worker_cpu: Duration,
    /// The engine's UDP reader thread (demultiplexing to workers).
    pub udp_reader_cpu: Duration,
    pub peers_cpu: Duration,
    pub process_cpu: Duration,
    pub offers_failed: u64,
    /// The machine's one-minute load average when the window closed.
    pub load_average: Option<f64>,
    pub peers: Vec<PeerWindow>,
}

impl Report {
    /// CPU time as a share of one core over the window, in percent.
    pub fn percent(&self, cpu: Duration) -> f64 {
        100.0 * cpu.as_secs_f64() / self.window.as_secs_f64()
    }

    fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.window.as_secs_f64()
    }

    fn total(&self, f: impl Fn(&Counters) -> u64) -> u64 {
        self.peers.iter().map(|p| f(&p.counters)).sum()
    }

    /// Fewest and most publishers any peer received video / audio from.
    pub fn received_range(&self) -> ((usize, usize), (usize, usize)) {
        let range = |f: fn(&Counters) -> usize| {
            let counts = self.peers.iter().map(|p| f(&p.counters));
            (counts.clone().min().unwrap_or(0), counts.max().unwrap_or(0))
        };
        (
            range(Counters::video_publishers),
            range(Counters::audio_publishers),
        )
    }

    /// Share of received camera frames per simulcast layer, e.g. "q 100%".
    fn layer_mix(&self) -> String {
        let by_layer: Vec<u64> = (0..LAYERS.len())
            .map(|i| self.total(|c| c.frames_by_layer[i]))
            .collect();
        let all: u64 = by_layer.iter().sum::<u64>().max(1);
        let mut out = String::new();
        for (layer, n) in LAYERS.iter().zip(by_layer) {
            if n > 0 {
                let _ = write!(out, "{} {:.0}% ", layer.rid, 100.0 * n as f64 / all as f64);
            }
        }
        out.trim_end().to_owned()
    }

    fn cap_name(&self) -> &'static str {
        // A single-layer camera has nothing to cap.
        if !self.simulcast {
            return "-";
        }
        match self.layer_cap {
            Some(i) if i < LAYERS.len() => LAYERS[i].rid,
            _ => "none",
        }
    }

    /// Header for [`Report::row`], one line per run in a sweep.
    pub fn header() -> String {
        format!(
            "{:>5} {:>5} {:>11} {:>11} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
            "peers",
            "cap",
            "workers %",
            "busiest %",
            "udp rx %",
            "process %",
            "fwd pkt/s",
            "fwd Mb/s",
            "in pkt/s",
            "recv v+a",
            "PLI/s",
        )
    }

    pub fn row(&self) -> String {
        let ((v, _), (a, _)) = self.received_range();
        format!(
            "{:>5} {:>5} {:>11.1} {:>11.1} {:>9.1} {:>9.1} {:>9.0} {:>9.1} {:>8.0} {:>8} {:>8.1}",
            self.participants,
            self.cap_name(),
            self.percent(self.workers_cpu),
            self.percent(self.busiest_worker_cpu),
            self.percent(self.udp_reader_cpu),
            self.percent(self.process_cpu),
            self.per_second(self.total(|c| c.datagrams_in)),
            self.per_second(self.total(|c| c.bytes_in)) * 8.0 / 1e6,
            self.per_second(self.total(|c| c.datagrams_out)),
            format!("{v}+{a}"),
            self.per_second(self.total(|c| c.keyframe_requests)),
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ((vmin, vmax), (amin, amax)) = self.received_range();
        let secs = self.window.as_secs_f64();
        let span = |lo: usize, hi: usize| match lo == hi {
            true => format!("{lo}"),
            false => format!("{lo}..{hi}"),
        };
        writeln!(
            f,
            "{} participants, simulcast {}, layer cap {}, {} engine workers, {:.1} s window",
            self.participants,
            if self.simulcast { "on" } else { "off" },
            self.cap_name(),
            self.workers,
            secs
        )?;
        writeln!(
            f,
            "  engine CPU:   {:.1}% of one core (workers; busiest {:.1}%), UDP reader {:.1}%",
            self.percent(self.workers_cpu),
            self.percent(self.busiest_worker_cpu),
            self.percent(self.udp_reader_cpu),
        )?;
        writeln!(
            f,
            "  process CPU:  {:.1}% of one core, of which synthetic peers {:.1}%; load average {}",
            self.percent(self.process_cpu),
            self.percent(self.peers_cpu),
            self.load_average
                .map_or("unknown".to_owned(), |l| format!("{l:.2}")),
        )?;
        writeln!(
            f,
            "  forwarded:    {:.0} packets/s, {:.1} Mbit/s to all peers; {:.0} media frames/s",
            self.per_second(self.total(|c| c.datagrams_in)),
            self.per_second(self.total(|c| c.bytes_in)) * 8.0 / 1e6,
            self.per_second(
                self.total(|c| { c.frames_from.values().map(|p| p.audio + p.video).sum() })
            ),
        )?;
        writeln!(
            f,
            "  published:    {:.0} packets/s, {:.1} Mbit/s from all peers",
            self.per_second(self.total(|c| c.datagrams_out)),
            self.per_second(self.total(|c| c.bytes_out)) * 8.0 / 1e6,
        )?;
        writeln!(
            f,
            "  each participant receives {} video + {} audio; video layers received: {}",
            span(vmin, vmax),
            span(amin, amax),
            self.layer_mix(),
        )?;
        writeln!(
            f,
            "  setup:        {:.1} s from the first join until everyone received everyone",
            self.connect_time.as_secs_f64()
        )?;
        write!(
            f,
            "  keyframes:    {} requested by the engine ({:.1}/s), {} sent; {} answers refused",
            self.total(|c| c.keyframe_requests),
            self.per_second(self.total(|c| c.keyframe_requests)),
            self.total(|c| c.keyframes_sent),
            self.offers_failed,
        )
    }
}
