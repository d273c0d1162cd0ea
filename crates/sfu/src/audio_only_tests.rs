//! Audio only, and audio first under congestion, with simulated browsers.

use std::time::Duration;

use str0m::media::MediaKind;

use crate::testing::Sim;
use crate::Event;

const SILENCE: Duration = Duration::from_secs(5);

fn frames(sim: &mut Sim, me: &str, from: &str, kind: MediaKind) -> usize {
    sim.client(me).frames_from(from, kind).len()
}

#[test]
fn on_audio_only_a_subscriber_gets_audio_and_no_video_until_it_asks_again() {
    let mut sim = Sim::new(SILENCE);
    sim.join("pub", true);
    sim.join("sub", false);
    sim.run(Duration::from_secs(3));
    let who = "sub".into();
    let now = sim.now;
    sim.room.set_receive_video(now, &who, false).unwrap();
    // A packet or two may be on the wire already.
    sim.run(Duration::from_millis(200));
    let (audio, video) = (
        frames(&mut sim, "sub", "pub", MediaKind::Audio),
        frames(&mut sim, "sub", "pub", MediaKind::Video),
    );
    let written = sim.room.forwarded_to(&who).unwrap();
    sim.run(Duration::from_secs(2));
    let later = sim.room.forwarded_to(&who).unwrap();
    assert_eq!(
        later.video_packets, written.video_packets,
        "no video written"
    );
    assert!(
        later.audio_packets >= written.audio_packets + 90,
        "audio goes on: {written:?} -> {later:?}"
    );
    assert_eq!(frames(&mut sim, "sub", "pub", MediaKind::Video), video);
    assert!(frames(&mut sim, "sub", "pub", MediaKind::Audio) >= audio + 90);
    // Its own picture still reaches the others: audio only is about what
    // this person receives (the page stops their camera itself).
    let to_pub = frames(&mut sim, "pub", "sub", MediaKind::Video);
    sim.run(Duration::from_millis(500));
    assert!(frames(&mut sim, "pub", "sub", MediaKind::Video) > to_pub);

    sim.client("pub").keyframe_requests.clear();
    let now = sim.now;
    sim.room.set_receive_video(now, &who, true).unwrap();
    sim.run(Duration::from_secs(1));
    assert!(
        !sim.client("pub").keyframe_requests.is_empty(),
        "the publisher is asked for a keyframe"
    );
    let c = sim.client("sub");
    let back = &c.frames_from("pub", MediaKind::Video)[video..];
    assert!(
        back.len() > 10,
        "video is back within a second: {}",
        back.len()
    );
    assert_eq!(back[0].data[0] & 1, 0, "and starts on a keyframe");
    assert!(sim.room.forwarded_to(&who).unwrap().video_packets > later.video_packets);
}

#[test]
fn a_newcomer_whose_only_viewer_is_audio_only_is_asked_for_no_keyframe() {
    let mut sim = Sim::new(SILENCE);
    sim.join("sub", false);
    sim.run(Duration::from_millis(500));
    let now = sim.now;
    sim.room
        .set_receive_video(now, &"sub".into(), false)
        .unwrap();
    sim.join("new", true);
    sim.run(Duration::from_secs(2));
    assert!(frames(&mut sim, "sub", "new", MediaKind::Audio) > 50);
    assert_eq!(
        sim.client("new").keyframe_requests,
        Vec::new(),
        "nobody needs a picture from it"
    );
}

#[test]
fn under_congestion_audio_keeps_flowing_and_a_low_downlink_is_reported_then_cleared() {
    let mut sim = Sim::new(SILENCE);
    sim.join("pub", true);
    sim.join("sub", false);
    sim.run(Duration::from_secs(3));
    let who = "sub".into();
    let audio = frames(&mut sim, "sub", "pub", MediaKind::Audio);
    // Below what audio and the lowest layer need together.
    sim.room.cap_bitrate(&who, Some(60_000));
    sim.run(Duration::from_secs(4));
    let low = |sim: &Sim, low: bool| {
        sim.events.iter().any(|e| {
            matches!(e, Event::Downlink { participant, low: l, .. }
                if participant.as_str() == "sub" && *l == low)
        })
    };
    assert!(!low(&sim, true), "not reported before it has held 5 s");
    sim.run(Duration::from_secs(3));
    assert!(low(&sim, true), "reported low");
    assert!(!low(&sim, false));
    // 20 ms frames for 7 s: audio is never what gives way.
    let got = frames(&mut sim, "sub", "pub", MediaKind::Audio) - audio;
    assert!(got >= 340, "audio frames under congestion: {got}");
    let ample = |e: &Event| matches!(e, Event::Downlink { participant, .. } if participant.as_str() == "pub");
    assert!(
        !sim.events.iter().any(ample),
        "an ample downlink is never reported"
    );

    sim.room.cap_bitrate(&who, None);
    sim.run(Duration::from_secs(6));
    assert!(low(&sim, false), "reported enough again");
}
