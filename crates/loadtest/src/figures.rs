//! The figures `room-load compare` reports for one run of one target, and
//! the median over repeats. Pure arithmetic on the peers' counters and the
//! server's CPU time, so it is tested apart from any network.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::media::LAYERS;
use crate::stats::Counters;

/// One measuring window of one target: a JSON line of the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub target: String,
    /// People per room.
    pub participants: usize,
    /// Rooms running at once.
    pub rooms: usize,
    /// 1-based; 0 marks a median over repeats.
    pub repeat: usize,
    pub window_s: f64,
    /// The server process's CPU (user + system), percent of one core.
    pub server_cpu_pct: f64,
    /// The harness process (the synthetic peers), percent of one core: it
    /// shares the cores with the server.
    pub harness_cpu_pct: f64,
    pub cpu_us_per_packet: f64,
    /// Datagrams (media, RTCP, STUN) the server sent to all peers.
    pub fwd_packets_per_s: f64,
    pub fwd_mbit_per_s: f64,
    /// Stamped frames (datagrams for the relay) that never arrived, percent.
    pub loss_pct: f64,
    /// Added one-way delay, publisher's send to receiver's arrival.
    pub delay_p50_ms: f64,
    pub delay_p99_ms: f64,
    /// The same for audio frames (one packet each); NaN for the relay,
    /// whose datagrams are all counted above.
    pub audio_delay_p50_ms: f64,
    pub audio_delay_p99_ms: f64,
    /// Share of received camera frames per layer, e.g. "q 100%".
    pub video_layers: String,
    /// From the first join until every peer received everyone.
    pub join_s: f64,
    /// One-minute load average when the window closed.
    pub load_average: f64,
}

/// What [`Sample::new`] needs besides the peers' window counters.
pub struct RunInfo<'a> {
    pub target: &'a str,
    pub participants: usize,
    pub rooms: usize,
    pub repeat: usize,
    pub window: Duration,
    pub server_cpu: Duration,
    pub harness_cpu: Duration,
    pub join: Duration,
    pub load_average: f64,
}

impl Sample {
    /// A sample of `target` with no peers and no CPU, for tests to fill in.
    #[cfg(test)]
    pub fn blank(target: &str, participants: usize, rooms: usize) -> Sample {
        Sample::new(
            RunInfo {
                target,
                participants,
                rooms,
                repeat: 0,
                window: Duration::from_secs(1),
                server_cpu: Duration::ZERO,
                harness_cpu: Duration::ZERO,
                join: Duration::ZERO,
                load_average: 0.0,
            },
            &[],
        )
    }

    pub fn new(info: RunInfo<'_>, peers: &[&Counters]) -> Sample {
        let secs = info.window.as_secs_f64().max(1e-9);
        let packets: u64 = peers.iter().map(|c| c.datagrams_in).sum();
        let bytes: u64 = peers.iter().map(|c| c.bytes_in).sum();
        let expected: u64 = peers.iter().map(|c| c.expected).sum();
        let received: u64 = peers.iter().map(|c| c.received).sum();
        let sorted = |f: fn(&Counters) -> &Vec<u32>| {
            let mut v: Vec<u32> = peers.iter().flat_map(|c| f(c).iter().copied()).collect();
            v.sort_unstable();
            v
        };
        let (delays, audio) = (sorted(|c| &c.delays_us), sorted(|c| &c.audio_delays_us));
        let ms = |v: &[u32], p| percentile(v, p).map_or(f64::NAN, |us| us as f64 / 1000.0);
        let mut layers = [0u64; LAYERS.len()];
        for c in peers {
            for (sum, n) in layers.iter_mut().zip(c.frames_by_layer) {
                *sum += n;
            }
        }
        Sample {
            target: info.target.to_owned(),
            participants: info.participants,
            rooms: info.rooms,
            repeat: info.repeat,
            window_s: secs,
            server_cpu_pct: 100.0 * info.server_cpu.as_secs_f64() / secs,
            harness_cpu_pct: 100.0 * info.harness_cpu.as_secs_f64() / secs,
            cpu_us_per_packet: match packets {
                0 => f64::NAN,
                n => info.server_cpu.as_secs_f64() * 1e6 / n as f64,
            },
            fwd_packets_per_s: packets as f64 / secs,
            fwd_mbit_per_s: bytes as f64 * 8.0 / secs / 1e6,
            loss_pct: loss_percent(expected, received),
            delay_p50_ms: ms(&delays, 50.0),
            delay_p99_ms: ms(&delays, 99.0),
            audio_delay_p50_ms: ms(&audio, 50.0),
            audio_delay_p99_ms: ms(&audio, 99.0),
            video_layers: layer_mix(&layers),
            join_s: info.join.as_secs_f64(),
            load_average: info.load_average,
        }
    }

    /// The median of each figure over `repeats` of one target and size
    /// (`repeat` 0); `None` for no repeats.
    pub fn median(repeats: &[Sample]) -> Option<Sample> {
        let first = repeats.first()?;
        let m = |f: fn(&Sample) -> f64| median(repeats.iter().map(f).collect());
        Some(Sample {
            target: first.target.clone(),
            participants: first.participants,
            rooms: first.rooms,
            repeat: 0,
            window_s: m(|s| s.window_s),
            server_cpu_pct: m(|s| s.server_cpu_pct),
            harness_cpu_pct: m(|s| s.harness_cpu_pct),
            cpu_us_per_packet: m(|s| s.cpu_us_per_packet),
            fwd_packets_per_s: m(|s| s.fwd_packets_per_s),
            fwd_mbit_per_s: m(|s| s.fwd_mbit_per_s),
            loss_pct: m(|s| s.loss_pct),
            delay_p50_ms: m(|s| s.delay_p50_ms),
            delay_p99_ms: m(|s| s.delay_p99_ms),
            audio_delay_p50_ms: m(|s| s.audio_delay_p50_ms),
            audio_delay_p99_ms: m(|s| s.audio_delay_p99_ms),
            // Repeats differ little in layers; the first one stands for all.
            video_layers: first.video_layers.clone(),
            join_s: m(|s| s.join_s),
            load_average: m(|s| s.load_average),
        })
    }
}

/// Share of camera frames per layer, "q 3% h 97%"; "-" when none were
/// counted (the relay does not look inside its datagrams).
pub fn layer_mix(by_layer: &[u64; LAYERS.len()]) -> String {
    let all: u64 = by_layer.iter().sum();
    if all == 0 {
        return "-".into();
    }
    let parts: Vec<String> = LAYERS
        .iter()
        .zip(by_layer)
        .filter(|(_, n)| **n > 0)
        .map(|(l, n)| format!("{} {:.0}%", l.rid, 100.0 * *n as f64 / all as f64))
        .collect();
    parts.join(" ")
}

/// Loss in percent; arrivals beyond what was expected (late frames) are not
/// negative loss.
pub fn loss_percent(expected: u64, received: u64) -> f64 {
    match expected {
        0 => 0.0,
        e => 100.0 * e.saturating_sub(received) as f64 / e as f64,
    }
}

/// Nearest-rank percentile `p` (0–100) of sorted values.
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Median of values (the mean of the middle two for an even count); NaN
/// values (a figure a run could not measure) sort last.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    match n % 2 {
        1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn layer_mix_names_the_layers_received() {
        assert_eq!(layer_mix(&[0, 0, 0]), "-");
        assert_eq!(layer_mix(&[1, 0, 3]), "q 25% f 75%");
    }

    #[test]
    fn loss_never_goes_negative() {
        assert_eq!(loss_percent(200, 199), 0.5);
        assert_eq!(loss_percent(10, 12), 0.0);
        assert_eq!(loss_percent(0, 0), 0.0);
    }

    #[test]
    fn a_sample_divides_server_cpu_by_forwarded_packets() {
        let mut a = Counters {
            datagrams_in: 1500,
            bytes_in: 1_000_000,
            expected: 1000,
            received: 990,
            ..Counters::default()
        };
        a.delays_us = vec![1000, 3000, 2000];
        let b = Counters {
            datagrams_in: 500,
            expected: 1000,
            received: 1000,
            ..Counters::default()
        };
        let s = Sample::new(
            RunInfo {
                target: "relay",
                participants: 2,
                rooms: 1,
                repeat: 1,
                window: Duration::from_secs(2),
                server_cpu: Duration::from_millis(100),
                harness_cpu: Duration::from_millis(300),
                join: Duration::from_millis(1500),
                load_average: 0.5,
            },
            &[&a, &b],
        );
        assert_eq!(s.cpu_us_per_packet, 50.0);
        assert_eq!(s.fwd_packets_per_s, 1000.0);
        assert_eq!(s.fwd_mbit_per_s, 4.0);
        assert_eq!(s.server_cpu_pct, 5.0);
        assert_eq!(s.harness_cpu_pct, 15.0);
        assert_eq!(s.loss_pct, 0.5);
        assert_eq!((s.delay_p50_ms, s.delay_p99_ms), (2.0, 3.0));
        let m = Sample::median(&[
            s.clone(),
            Sample {
                cpu_us_per_packet: 10.0,
                ..s.clone()
            },
            Sample {
                cpu_us_per_packet: 70.0,
                ..s
            },
        ])
        .unwrap();
        assert_eq!((m.repeat, m.cpu_us_per_packet), (0, 50.0));
    }
}
