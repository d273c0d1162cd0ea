//! How a forwarded frame leaves the engine. A worker forwards a batch of
//! incoming packets and then drains each subscriber once; str0m's pacer
//! releases one packet per timeout and asks for the next timeout 1 µs later.
//! The drain handles those timeouts itself, so a frame's packets go out
//! together whenever the pacer allows, not one worker pass apart.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use str0m::format::Codec;

use crate::testing::{pt_of, Sim};

const SILENCE: Duration = Duration::from_secs(5);
/// Passes this far apart make a packet left for the next pass plain to see.
const PASS: Duration = Duration::from_millis(20);

#[test]
fn the_packets_of_a_frame_reach_the_subscriber_together() {
    let mut sim = Sim::new(SILENCE);
    sim.timeout_pass = PASS;
    for name in ["a", "b", "c"] {
        sim.join(name, false);
    }
    sim.run(Duration::from_secs(3));
    let from = sim.now;
    sim.run(Duration::from_secs(2));

    let b = sim.client("b");
    let vp8 = *pt_of(&b.rtc, b.video.unwrap(), Codec::Vp8);
    // Each frame of 2,000 bytes is two packets; they share an RTP timestamp.
    let mut frames: BTreeMap<(u32, u32), Vec<Instant>> = BTreeMap::new();
    for p in b.rtp_in.iter().filter(|p| p.at >= from) {
        // Media only: probes (SSRC 0) and padding carry no payload.
        if p.pt == vp8 && p.ssrc != 0 && p.len > 0 {
            frames.entry((p.ssrc, p.time)).or_default().push(p.at);
        }
    }
    let mut spreads: Vec<Duration> = frames
        .values()
        .filter(|at| at.len() >= 2)
        .map(|at| *at.iter().max().unwrap() - *at.iter().min().unwrap())
        .collect();
    assert!(
        spreads.len() >= 40,
        "frames of two packets: {}",
        spreads.len()
    );
    // Each frame is well inside the pacer's budget, so both packets may go
    // at once and must leave in the same pass. When the drain stopped at
    // the pacer's next step (1 µs after its last), 129 of 157 frames were
    // spread over passes, 10 ms at the median.
    let whole = spreads.iter().filter(|s| s.is_zero()).count();
    spreads.sort();
    let median = spreads[spreads.len() / 2];
    assert!(
        median < PASS * 3 / 4,
        "half the frames arrived spread over {median:?} or more: {spreads:?}"
    );
    assert!(
        whole * 10 >= spreads.len() * 9,
        "{whole} of {} frames arrived in one pass; spreads: {spreads:?}",
        spreads.len()
    );
}
