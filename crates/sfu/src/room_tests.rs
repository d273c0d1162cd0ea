//! Room behaviour with simulated browsers and simulated time.

use std::time::Duration;

use str0m::media::MediaKind;

use crate::testing::Sim;

const SILENCE: Duration = Duration::from_secs(5);

#[test]
fn two_peers_receive_each_others_audio_and_video() {
    let mut sim = Sim::new(SILENCE);
    sim.join("alice", false);
    sim.join("bob", false);
    sim.run(Duration::from_secs(3));
    for (me, other) in [("alice", "bob"), ("bob", "alice")] {
        let c = sim.client(me);
        let audio = c.frames_from(other, MediaKind::Audio).len();
        let video = c.frames_from(other, MediaKind::Video).len();
        assert!(audio > 20, "{me} got {audio} audio frames from {other}");
        assert!(video > 10, "{me} got {video} video frames from {other}");
    }
}

#[test]
fn three_peers_each_receive_both_others() {
    let mut sim = Sim::new(SILENCE);
    for name in ["a", "b", "c"] {
        sim.join(name, false);
    }
    sim.run(Duration::from_secs(3));
    for me in ["a", "b", "c"] {
        for other in ["a", "b", "c"].into_iter().filter(|o| *o != me) {
            let c = sim.client(me);
            assert!(
                c.frames_from(other, MediaKind::Audio).len() > 20,
                "{me} audio from {other}"
            );
            assert!(
                c.frames_from(other, MediaKind::Video).len() > 10,
                "{me} video from {other}"
            );
            assert!(
                c.frames_from(me, MediaKind::Video).is_empty(),
                "no echo of own media"
            );
        }
    }
    let published = sim
        .events
        .iter()
        .filter(|e| matches!(e, crate::Event::TrackPublished { .. }))
        .count();
    assert_eq!(published, 6, "audio and video of three participants");
}
