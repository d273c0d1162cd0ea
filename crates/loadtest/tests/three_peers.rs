//! The bench works end to end: three peers over loopback each receive both
//! others' audio and camera during the window.

use std::time::Duration;

use regroup_loadtest::{run, BenchConfig};

#[test]
fn three_peers_each_receive_both_others() {
    let cfg = BenchConfig {
        warmup: Duration::from_millis(500),
        window: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(10),
        ..BenchConfig::new(3)
    };
    let report = run(&cfg).expect("bench run");
    println!("{report}");
    assert_eq!(report.peers.len(), 3);
    for p in &report.peers {
        let c = &p.counters;
        assert_eq!(c.error, None, "{}", p.name);
        let others: Vec<&String> = c.frames_from.keys().filter(|k| **k != p.name).collect();
        assert_eq!(others.len(), 2, "{} got media from {others:?}", p.name);
        for (from, got) in &c.frames_from {
            // 50 audio and 30 camera frames a second: well over 10 in 2 s.
            assert!(
                got.audio > 10 && got.video > 10,
                "{} from {from}: {got:?}",
                p.name
            );
        }
    }
    assert!(
        report.workers_cpu > Duration::ZERO,
        "engine threads were measured"
    );
}
