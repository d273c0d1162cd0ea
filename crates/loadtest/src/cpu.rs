//! CPU time per thread of this process, read from /proc (Linux), so the
//! engine's threads can be measured apart from the synthetic peers that share
//! the process.

use std::collections::HashMap;
use std::fs;
use std::time::Duration;

/// /proc reports `stat` times in USER_HZ ticks, which Linux fixes at 100.
const TICK: Duration = Duration::from_millis(10);

/// CPU time used so far by each live thread, by thread id.
#[derive(Debug, Clone, Default)]
pub struct ThreadTimes {
    threads: HashMap<u32, (String, Duration)>,
}

impl ThreadTimes {
    pub fn sample() -> std::io::Result<ThreadTimes> {
        let mut threads = HashMap::new();
        for entry in fs::read_dir("/proc/self/task")? {
            let entry = entry?;
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            // A thread may end between listing and reading; it is just skipped.
            let Ok(name) = fs::read_to_string(entry.path().join("comm")) else {
                continue;
            };
            if let Some(cpu) = thread_cpu(tid) {
                threads.insert(tid, (name.trim_end().to_owned(), cpu));
            }
        }
        Ok(ThreadTimes { threads })
    }

    /// CPU time between `earlier` and `self` of the threads whose name
    /// starts with `prefix` (every thread for ""), each thread counted only
    /// if it lived at both samples.
    pub fn since(&self, earlier: &ThreadTimes, prefix: &str) -> Duration {
        self.threads
            .iter()
            .filter(|(_, (name, _))| name.starts_with(prefix))
            .filter_map(|(tid, (_, now))| {
                let (_, then) = earlier.threads.get(tid)?;
                Some(now.saturating_sub(*then))
            })
            .sum()
    }

    /// Like [`ThreadTimes::since`], for the busiest single matching thread.
    pub fn busiest_since(&self, earlier: &ThreadTimes, prefix: &str) -> Duration {
        self.threads
            .iter()
            .filter(|(_, (name, _))| name.starts_with(prefix))
            .filter_map(|(tid, (_, now))| {
                let (_, then) = earlier.threads.get(tid)?;
                Some(now.saturating_sub(*then))
            })
            .max()
            .unwrap_or_default()
    }
}

/// The machine's one-minute load average: other work on the cores makes
/// the figures less trustworthy, so the report shows it.
pub fn load_average() -> Option<f64> {
    let s = fs::read_to_string("/proc/loadavg").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// CPU time (user + system, all threads) another process has used so far,
/// from /proc/PID/stat: a server's own figure, apart from the peers.
pub fn process_cpu(pid: u32) -> std::io::Result<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    stat_cpu(&stat).ok_or_else(|| std::io::Error::other(format!("unreadable /proc/{pid}/stat")))
}

/// utime + stime of a `stat` line.
fn stat_cpu(stat: &str) -> Option<Duration> {
    // The name in parentheses may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(TICK * ticks as u32)
}

/// Nanosecond run time from `schedstat` where the kernel has it, else user +
/// system ticks from `stat`.
fn thread_cpu(tid: u32) -> Option<Duration> {
    let dir = format!("/proc/self/task/{tid}");
    if let Ok(s) = fs::read_to_string(format!("{dir}/schedstat")) {
        let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
        return Some(Duration::from_nanos(ns));
    }
    stat_cpu(&fs::read_to_string(format!("{dir}/stat")).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_times_are_user_plus_system_after_an_odd_name() {
        let line = "4242 (janus (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 12 0";
        assert_eq!(stat_cpu(line), Some(Duration::from_millis(2810)));
        assert_eq!(stat_cpu("4242 (short) S 1"), None);
        assert!(process_cpu(std::process::id()).is_ok());
    }

    #[test]
    fn a_busy_named_thread_is_measured_apart() {
        let before = ThreadTimes::sample().unwrap();
        let spin = std::thread::Builder::new()
            .name("cpu-test-spin".into())
            .spawn(|| {
                let start = std::time::Instant::now();
                let mut x = 0u64;
                while start.elapsed() < Duration::from_millis(200) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                // Keep the thread alive for the second sample.
                std::thread::sleep(Duration::from_millis(300));
            })
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let start = ThreadTimes::sample().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let end = ThreadTimes::sample().unwrap();
        spin.join().unwrap();
        let used = end.since(&start, "cpu-test-spin");
        // Loose bounds: other processes may share the cores.
        assert!(used >= Duration::from_millis(10), "{used:?}");
        assert!(used <= Duration::from_millis(400), "{used:?}");
        assert_eq!(end.since(&before, "cpu-test-spin"), Duration::ZERO);
    }
}
