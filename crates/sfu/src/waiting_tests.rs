//! Held participants (a waiting room): connected, the room's tracks
//! negotiated, but cut off from the room's media both ways until admitted.
//! Privacy is the point: someone waiting must never see or hear the
//! session, nor be seen or heard. Speed is the other: admission needs no
//! negotiation, only a keyframe.

use std::time::Duration;

use str0m::media::MediaKind;

use crate::testing::Sim;
use crate::{DisconnectReason, Event, SfuError};

const SILENCE: Duration = Duration::from_secs(5);

/// Whether the engine made an offer to `who` (new m-lines to receive on).
fn offered_to(sim: &Sim, who: &str) -> bool {
    sim.events
        .iter()
        .any(|e| matches!(e, Event::Offer { participant, .. } if participant.as_str() == who))
}

#[test]
fn a_held_participant_connects_but_nothing_is_forwarded_either_way() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", true);
    sim.join("b", false);
    sim.join_as("w", true, true);
    sim.run(Duration::from_secs(3));

    assert!(sim.client("w").rtc.is_connected(), "ICE and DTLS are up");
    assert!(
        sim.events.iter().any(
            |e| matches!(e, Event::Connected { participant, .. } if participant.as_str() == "w")
        ),
        "the app hears that the held one is connected"
    );
    assert!(
        offered_to(&sim, "w"),
        "the room's tracks are negotiated with the held one"
    );
    assert!(
        sim.client("w").received.is_empty(),
        "the held one receives no media at all"
    );
    assert!(
        sim.client("w").rtp_in.is_empty(),
        "not one RTP packet, not even padding"
    );
    for me in ["a", "b"] {
        let c = sim.client(me);
        assert!(
            c.frames_from("w", MediaKind::Audio).is_empty(),
            "{me} hears nothing of w"
        );
        assert!(
            c.frames_from("w", MediaKind::Video).is_empty(),
            "{me} sees nothing of w"
        );
    }
    // The admitted two still have each other.
    let b = sim.client("b");
    assert!(b.frames_from("a", MediaKind::Video).len() > 10);
}

#[test]
fn after_admission_media_flows_both_ways_from_a_keyframe() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", true);
    sim.join("b", false);
    sim.join_as("w", false, true);
    sim.run(Duration::from_secs(2));
    assert!(sim.client("w").received.is_empty());

    sim.admit("w");
    sim.run(Duration::from_millis(1500));
    for other in ["a", "b"] {
        let w = sim.client("w");
        assert!(
            w.frames_from(other, MediaKind::Audio).len() > 20,
            "w hears {other}"
        );
        let video = w.frames_from(other, MediaKind::Video);
        assert!(video.len() > 10, "w sees {other}");
        assert_eq!(
            video[0].data[0] & 1,
            0,
            "w's first frame of {other} is a keyframe"
        );
        let c = sim.client(other);
        assert!(
            c.frames_from("w", MediaKind::Audio).len() > 20,
            "{other} hears w"
        );
        assert!(
            c.frames_from("w", MediaKind::Video).len() > 10,
            "{other} sees w"
        );
    }
}

#[test]
fn admission_needs_no_offer_and_the_picture_starts_at_once() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", true);
    sim.join_as("w", false, true);
    sim.run(Duration::from_secs(2));
    assert!(offered_to(&sim, "w"), "a's tracks negotiated while waiting");
    assert!(sim.client("w").received.is_empty());
    sim.events.clear();

    let admitted_at = sim.now;
    sim.admit("w");
    sim.run(Duration::from_millis(500));
    assert!(!offered_to(&sim, "w"), "nothing left to negotiate with w");
    assert!(offered_to(&sim, "a"), "w's own tracks are offered to a");
    let w = sim.client("w");
    let video = w.frames_from("a", MediaKind::Video);
    assert!(!video.is_empty(), "w sees a");
    assert_eq!(video[0].data[0] & 1, 0, "starting from a keyframe");
    // One keyframe request, one frame interval (33 ms) of the publisher,
    // and the trip: well under 100 ms, where an offer and answer came first
    // before.
    let first = video[0].network_time.saturating_duration_since(admitted_at);
    assert!(
        first < Duration::from_millis(100),
        "first picture {first:?} after admission"
    );
}

#[test]
fn tracks_published_while_held_stay_held_until_admission() {
    // The held one publishes first; a later arrival must not subscribe to them.
    let mut sim = Sim::new(SILENCE);
    sim.join_as("w", false, true);
    sim.run(Duration::from_secs(1));
    sim.join("late", false);
    sim.run(Duration::from_secs(2));
    assert!(sim
        .client("late")
        .frames_from("w", MediaKind::Video)
        .is_empty());
    assert!(sim.client("w").received.is_empty());
    // The later track is negotiated with the one waiting, nothing more.
    assert!(offered_to(&sim, "w"), "late's tracks reach w's SDP");
    assert!(sim.client("late").received.is_empty(), "nor of w to late");

    sim.admit("w");
    sim.run(Duration::from_millis(1500));
    assert!(sim.client("late").frames_from("w", MediaKind::Video).len() > 10);
    assert!(sim.client("w").frames_from("late", MediaKind::Video).len() > 10);
}

#[test]
fn a_held_participant_turned_away_is_dropped_from_the_engine() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", false);
    sim.join_as("w", false, true);
    sim.run(Duration::from_secs(1));
    let now = sim.now;
    sim.room.leave(now, &"w".into()).unwrap();
    sim.flush();
    assert!(sim.room.key_of(&"w".into()).is_none());
    assert!(sim.events.iter().any(|e| matches!(
        e,
        Event::Disconnected { participant, reason: DisconnectReason::Left, .. }
            if participant.as_str() == "w"
    )));
    assert_eq!(
        sim.room.admit(now, &"w".into()),
        Err(SfuError::NoSuchParticipant),
        "nobody left to admit"
    );
    sim.run(Duration::from_secs(1));
    assert!(sim
        .client("a")
        .frames_from("w", MediaKind::Video)
        .is_empty());
}

#[test]
fn admitting_someone_who_is_not_held_changes_nothing() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", false);
    sim.join("b", false);
    sim.run(Duration::from_secs(2));
    let before = sim.client("b").frames_from("a", MediaKind::Video).len();
    sim.admit("b");
    sim.run(Duration::from_secs(1));
    assert!(sim.client("b").frames_from("a", MediaKind::Video).len() > before);
}
