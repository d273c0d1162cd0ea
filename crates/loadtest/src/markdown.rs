//! The section `room-load compare` writes into docs/benchmarks.md: the
//! machine, the date, the load, the median table, the capacity search, the
//! chart and every sample as JSON lines. It replaces only its own section
//! (between two markers), so other benchmarks can share the file.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::compare::{CompareConfig, Outcome, Target, DELAY_LIMIT_MS, LOSS_LIMIT_PCT};
use crate::figures::Sample;

pub const START: &str = "<!-- bench-sfu:start (written by scripts/bench-sfu) -->";
pub const END: &str = "<!-- bench-sfu:end -->";

/// Facts about the run that the figures depend on.
pub struct RunFacts {
    pub date: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub load_start: Option<f64>,
    pub load_end: Option<f64>,
    pub command: String,
    /// Set when the run is shorter than the full one (e.g. a busy machine).
    pub short_run_note: Option<String>,
    /// File name of the chart, beside the Markdown.
    pub chart_file: String,
}

impl RunFacts {
    pub fn gather(command: String, short_run_note: Option<String>, chart_file: String) -> RunFacts {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, m)| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        RunFacts {
            date: utc_now(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            load_start: None,
            load_end: None,
            command,
            short_run_note,
            chart_file,
        }
    }
}

/// Now as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

fn utc(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "–".into()
    }
}

/// The median table, one row per target and room size.
pub fn table(medians: &[Sample]) -> String {
    let mut t = String::from(
        "| target | people | CPU µs / fwd packet | server CPU % of a core | peers' CPU % | fwd packets/s | fwd Mbit/s | loss % | delay p50 / p99 ms | audio p50 / p99 ms | layers received | join → all receive all, s |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n",
    );
    for m in medians {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} | {} |",
            m.target,
            m.participants,
            num(m.cpu_us_per_packet, 1),
            num(m.server_cpu_pct, 1),
            num(m.harness_cpu_pct, 0),
            num(m.fwd_packets_per_s, 0),
            num(m.fwd_mbit_per_s, 1),
            num(m.loss_pct, 2),
            num(m.delay_p50_ms, 2),
            num(m.delay_p99_ms, 2),
            num(m.audio_delay_p50_ms, 2),
            num(m.audio_delay_p99_ms, 2),
            m.video_layers,
            num(m.join_s, 2),
        );
    }
    t
}

/// The whole section, markers included.
pub fn section(cfg: &CompareConfig, outcome: &Outcome, facts: &RunFacts) -> String {
    let mut s = String::new();
    let load = |l: Option<f64>| l.map_or("unknown".into(), |l| format!("{l:.2}"));
    let _ = writeln!(s, "{START}\n## Media servers side by side\n");
    if let Some(note) = &facts.short_run_note {
        let _ = writeln!(s, "> **Short run.** {note}\n");
    }
    let _ = writeln!(
        s,
        "Measured {} on {} CPUs ({}); one-minute load average {} at the start and {} at the end. \
         Command: `{}` ({} per cell, the table gives the median; {} s warm-up, {} s window; \
         engine workers: {}).\n",
        facts.date,
        facts.cpus,
        facts.cpu_model,
        load(facts.load_start),
        load(facts.load_end),
        facts.command,
        match cfg.repeats {
            1 => "one run".to_owned(),
            n => format!("{n} runs"),
        },
        cfg.base.warmup.as_secs(),
        cfg.base.window.as_secs(),
        cfg.base.workers,
    );
    s.push_str(&table(&outcome.medians));
    s.push('\n');
    let _ = writeln!(
        s,
        "![CPU per forwarded packet and forwarded packets/s by room size]({})\n",
        facts.chart_file
    );
    let _ = writeln!(
        s,
        "**What fits on this machine** (loss < {LOSS_LIMIT_PCT} %, video delay p99 < {DELAY_LIMIT_MS} ms):\n"
    );
    for t in &cfg.targets {
        let tried = cfg.sizes.iter().max().copied().unwrap_or(0);
        let largest = match outcome.largest_room(*t) {
            Some(n) if n == tried => format!("{n} people, the largest size tried"),
            Some(n) => format!("{n} people"),
            None => "none of the sizes tried".into(),
        };
        let _ = write!(s, "- {}: largest room {largest}", t.name());
        if let Some((rooms, best)) = outcome.fit(*t) {
            let size = cfg.capacity_room.unwrap_or(0);
            let _ = write!(s, "; {rooms} rooms of {size} at once");
            if let Some(b) = best {
                let _ = write!(
                    s,
                    " (server CPU {} % of a core, peers {} %, {} packets/s, layers {}, loss {} %, video delay p99 {} ms)",
                    num(b.server_cpu_pct, 0),
                    num(b.harness_cpu_pct, 0),
                    num(b.fwd_packets_per_s, 0),
                    b.video_layers,
                    num(b.loss_pct, 2),
                    num(b.delay_p99_ms, 1)
                );
            }
            if rooms >= cfg.capacity_max_rooms {
                let _ = write!(s, ", the most the search tried");
            }
        }
        s.push_str(".\n");
    }
    full_load_ratios(&mut s, outcome, cfg.capacity_max_rooms);
    if !outcome.failures.is_empty() {
        s.push_str("\nRuns that failed:\n\n");
        for f in &outcome.failures {
            let _ = writeln!(s, "- {f}");
        }
    }
    s.push_str(CAVEATS);
    s.push_str("\n<details><summary>Every run as JSON lines (repeat 0 is the median)</summary>\n\n```jsonl\n");
    for sample in outcome.samples.iter().chain(&outcome.medians) {
        s.push_str(&crate::control::to_line(sample));
    }
    for (_, _, best) in &outcome.capacity {
        if let Some(b) = best {
            s.push_str(&crate::control::to_line(b));
        }
    }
    let _ = write!(s, "```\n\n</details>\n{END}\n");
    s
}

/// The issue's throughput yardstick: packets/s each SFU forwarded at the
/// most rooms that fit, as a share of the relay's at its most. A relay that
/// still fitted at `max_rooms` was not found at its most, so the shares are
/// then only upper bounds.
fn full_load_ratios(s: &mut String, outcome: &Outcome, max_rooms: usize) {
    let best = |t: Target| outcome.fit(t)?.1.map(|b| b.fwd_packets_per_s);
    let Some(relay) = best(Target::Relay).filter(|r| *r > 0.0) else {
        return;
    };
    let shares: Vec<String> = [Target::Regroup, Target::Janus]
        .into_iter()
        .filter_map(|t| best(t).map(|p| format!("{} {} %", t.name(), num(100.0 * p / relay, 0))))
        .collect();
    if !shares.is_empty() {
        let _ = writeln!(
            s,
            "\nAt full load, packets/s forwarded as a share of the relay's: {}.",
            shares.join(", ")
        );
        if outcome
            .fit(Target::Relay)
            .is_some_and(|(rooms, _)| rooms >= max_rooms)
        {
            let _ = writeln!(
                s,
                "The relay still fitted at the most rooms the search tried, so these shares are upper bounds."
            );
        }
    }
}

const CAVEATS: &str = "
How to read it:

- **regroup** is `regroup-sfu-server` (the engine, str0m in RTP mode, packet-level forwarding) in its own process;
  **janus** is Debian's Janus 1.1 VideoRoom (packet-level forwarding, simulcast, multistream
  subscriptions at the web app's layer); **relay** is `udp-relay`, plain datagrams with no SRTP,
  no RTCP and no layer choice: the ceiling.
- CPU is the server process's user + system time from `/proc/PID/stat`, divided by the datagrams the
  peers received from it: media, RTX, RTCP and STUN alike. The kernel counts it in 10 ms ticks, so in
  short windows at low rates one tick more or less is a visible share.
- The synthetic peers (client-side str0m, or plain sockets for the relay) run in the harness on the
  same two cores, so every server competes with them; \"what fits\" is what fits next to its own peers.
- A load fits when both its loss and its video delay p99 stay under the limits named above: by loss
  alone, a server that queues instead of dropping would \"fit\" at seconds of delay.
- The search for the most rooms doubles the count until a run does not fit, narrows down, and then
  runs the count it found once more: it counts only when it fits twice.
- Loss counts stamped frames (relay: datagrams) whose sequence numbers say they were sent but never
  arrived, including frames a server drops while waiting for a keyframe after a layer switch.
- Delay is the receiver's clock minus the send time the publisher stamped into the payload (one
  clock, one process). For WebRTC targets it is per frame, so it includes waiting for a frame's
  last packet and str0m on both ends; for the relay it is per datagram.
- The run happens in a network namespace of its own (`scripts/bench-sfu`). Janus never gathers
  loopback candidates, so its media uses a test address on a veth pair there (still carried by
  the namespace's loopback device); everything else binds 127.0.0.1.
- The engine and the relay ask for 4 MiB socket buffers, so keyframe bursts at full load do not
  overflow them; Janus keeps the default (212,992 bytes here) on each of its sockets, one per
  connection.
- Against Janus each participant is two str0m connections in the harness (publisher and multistream
  subscriber), against the engine one; \"peers' CPU\" is the harness process, for judging that.
- Up to 4 people nobody caps the layer; the SFUs then send what bandwidth estimation allows (on
  loopback, usually `f`, but the engine's estimate may still be climbing after a short warm-up: see
  \"layers received\"), and the relay peers send `f`. From 5 people on, `h`, then `q` from 10.
";

/// `doc` with its compare section replaced by `section` (added at the end
/// when it has none).
pub fn splice(doc: &str, section: &str) -> String {
    match (doc.find(START), doc.find(END)) {
        (Some(a), Some(b)) if b > a => {
            let after = &doc[b + END.len()..];
            let after = after.strip_prefix('\n').unwrap_or(after);
            format!("{}{section}{after}", &doc[..a])
        }
        _ if doc.trim().is_empty() => format!("# Benchmarks\n\n{section}"),
        _ => format!("{}\n\n{section}", doc.trim_end()),
    }
}

/// The command line as the doc shows it: the short-run note is printed on
/// its own, so it is left out here.
pub fn shown_command(args: Vec<String>) -> String {
    let mut shown = Vec::new();
    let mut skip = false;
    for a in args {
        if std::mem::take(&mut skip) {
            continue;
        }
        if a == "--short-run" {
            skip = true;
        } else if !a.starts_with("--short-run=") {
            shown.push(a);
        }
    }
    shown.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // 2026-11-30 02:53 UTC.
        assert_eq!(utc(1_796_007_180), "2026-11-30 02:53 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn full_load_is_given_as_a_share_of_the_relay() {
        let at = |target, name, pps| {
            let mut s = Sample::blank(name, 4, 1);
            s.fwd_packets_per_s = pps;
            (target, 10, Some(s))
        };
        let mut outcome = Outcome {
            capacity: vec![
                at(Target::Regroup, "regroup", 50_000.0),
                at(Target::Relay, "relay", 125_000.0),
            ],
            ..Outcome::default()
        };
        let mut s = String::new();
        full_load_ratios(&mut s, &outcome, 64);
        assert!(s.contains("share of the relay's: regroup 40 %."), "{s}");
        assert!(!s.contains("upper bounds"), "{s}");
        // The relay fitted at the search's limit: its most is not known.
        let mut s = String::new();
        full_load_ratios(&mut s, &outcome, 10);
        assert!(s.contains("these shares are upper bounds"), "{s}");
        // No relay in the search: nothing to compare with.
        outcome.capacity.pop();
        let mut s = String::new();
        full_load_ratios(&mut s, &outcome, 64);
        assert_eq!(s, "");
    }

    #[test]
    fn table_rows_have_as_many_cells_as_the_header() {
        let m = Sample::blank("janus", 4, 1);
        let t = table(&[m]);
        let cells: Vec<usize> = t.lines().map(|l| l.matches('|').count()).collect();
        assert_eq!(cells.len(), 3);
        assert!(cells.iter().all(|c| *c == cells[0]), "{t}");
        assert!(t.contains("| janus | 4 |"), "{t}");
    }

    #[test]
    fn the_shown_command_leaves_out_the_short_run_note() {
        let args = |a: &str| a.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            shown_command(args("room-load compare --short-run note --sizes 2")),
            "room-load compare --sizes 2"
        );
        assert_eq!(
            shown_command(args("room-load compare --short-run=x")),
            "room-load compare"
        );
    }

    #[test]
    fn splicing_replaces_only_its_own_section() {
        let first = splice("", &format!("{START}\nold\n{END}\n"));
        assert!(first.starts_with("# Benchmarks\n"));
        let doc = format!("{first}\n## Web\nkept\n");
        let again = splice(&doc, &format!("{START}\nnew\n{END}\n"));
        assert!(again.contains("new") && !again.contains("old"));
        assert!(again.ends_with("## Web\nkept\n"), "{again}");
        let other = splice("# Benchmarks\n\n## Web\n", &format!("{START}\nx\n{END}\n"));
        assert!(other.starts_with("# Benchmarks\n\n## Web\n\n"));
    }
}
