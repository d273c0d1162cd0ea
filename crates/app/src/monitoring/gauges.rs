//! Values read when Prometheus scrapes, rather than kept up to date on every
//! change: rooms, the job runner's lag, the engine's CPU time and traffic.

use std::fmt::Write;

use super::names;
use crate::state::AppState;

/// This node's values in the Prometheus text format. They are written here
/// rather than through the process-wide recorder because they belong to one
/// server's state: they are read, not accumulated.
pub(super) async fn render(state: &AppState) -> String {
    let mut out = String::new();
    let (rooms, members) = state.rooms.census();
    gauge(
        &mut out,
        names::ROOMS,
        "Open video rooms.",
        &[("", rooms as f64)],
    );
    gauge(
        &mut out,
        names::ROOM_MEMBERS,
        "People connected to open rooms, waiting or admitted.",
        &[("", members as f64)],
    );

    let now = state.clock.unix();
    match state.store.due_jobs(now).await {
        Ok((due, oldest)) => {
            let lag = oldest.map_or(0, |run_at| (now - run_at).max(0));
            gauge(
                &mut out,
                names::JOBS_DUE,
                "Jobs due and not done.",
                &[("", due as f64)],
            );
            gauge(
                &mut out,
                names::JOB_LAG,
                "Seconds since the oldest job not done was due.",
                &[("", lag as f64)],
            );
        }
        Err(err) => tracing::warn!(error = %err, "metrics: could not count due jobs"),
    }

    let cpu: Vec<(String, f64)> = engine_cpu()
        .into_iter()
        .map(|(thread, seconds)| (format!("thread=\"{thread}\""), seconds))
        .collect();
    let cpu: Vec<(&str, f64)> = cpu.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    gauge(
        &mut out,
        names::ENGINE_CPU,
        "CPU seconds (user + system) used by each media engine thread.",
        &cpu,
    );
    let traffic = state.sfu.traffic();
    family(
        &mut out,
        names::ENGINE_PACKETS,
        "counter",
        "Packets through the media engine's sockets: media, RTCP and STUN.",
        &[
            ("direction=\"in\"", traffic.packets_in as f64),
            ("direction=\"out\"", traffic.packets_out as f64),
        ],
    );
    family(
        &mut out,
        names::ENGINE_BYTES,
        "counter",
        "Bytes through the media engine's sockets.",
        &[
            ("direction=\"in\"", traffic.bytes_in as f64),
            ("direction=\"out\"", traffic.bytes_out as f64),
        ],
    );
    family(
        &mut out,
        names::ENGINE_LATE,
        "counter",
        "Packets the media engine dropped unread: they waited too long for a busy worker.",
        &[("", traffic.packets_late as f64)],
    );
    out
}

fn gauge(out: &mut String, name: &str, help: &str, series: &[(&str, f64)]) {
    family(out, name, "gauge", help, series);
}

/// One metric family of `kind`: `(labels, value)` per series, labels already
/// formatted (`thread="sfu-worker-0"`) or empty.
fn family(out: &mut String, name: &str, kind: &str, help: &str, series: &[(&str, f64)]) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in series {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// CPU seconds (user + system) of each media engine thread, from
/// `/proc/self/task/*/stat`: the engine's threads are named `sfu-…`.
fn engine_cpu() -> Vec<(String, f64)> {
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        if let Some((name, cpu_ticks)) = parse_stat(&stat) {
            if name.starts_with("sfu-") {
                found.push((name.to_owned(), cpu_ticks as f64 / ticks));
            }
        }
    }
    found
}

/// The thread's name and its user + system ticks. The name sits in
/// parentheses and may itself hold spaces or parentheses, so fields are
/// counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let utime: u64 = rest.nth(11)?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some((name, utime + stime))
}

#[cfg(test)]
mod tests {
    use super::parse_stat;

    #[test]
    fn a_thread_stat_line_gives_its_name_and_cpu_ticks() {
        let line =
            "4242 (sfu-worker-0) S 1 4242 4242 0 -1 4194368 120 0 0 0 37 5 0 0 20 0 9 0 1000 0 0";
        assert_eq!(parse_stat(line), Some(("sfu-worker-0", 42)));
    }

    #[test]
    fn a_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let line = "7 (odd (name) x) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0";
        assert_eq!(parse_stat(line), Some(("odd (name) x", 7)));
    }

    #[test]
    fn a_truncated_line_gives_nothing() {
        assert_eq!(parse_stat("7 (sfu) R 1 2"), None);
    }
}
