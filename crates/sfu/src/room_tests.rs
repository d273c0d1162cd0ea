//! Room behaviour with simulated browsers and simulated time.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use str0m::format::Codec;
use str0m::media::MediaKind;

use crate::testing::{pt_of, RtpSeen, Sim};
use crate::{DisconnectReason, Event, SfuError, TrackKind};

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
        // The publisher's first keyframe went out before anyone subscribed;
        // this one exists because the engine asked for it.
        let keyframes = c
            .frames_from(other, MediaKind::Video)
            .iter()
            .filter(|d| d.data[0] & 1 == 0)
            .count();
        assert!(keyframes >= 1, "{me} got a keyframe from {other}");
        assert!(!sim.client(other).keyframe_requests.is_empty());
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

fn layer_of(size: usize) -> &'static str {
    crate::testing::LAYERS
        .iter()
        .find(|(_, s)| *s == size)
        .map_or("?", |(r, _)| r)
}

#[test]
fn a_bandwidth_drop_switches_the_subscriber_to_a_lower_layer_after_a_keyframe() {
    let mut sim = Sim::new(SILENCE);
    sim.join("pub", true);
    sim.join("sub", false);
    sim.run(Duration::from_secs(4));
    let last = |sim: &mut Sim| {
        let c = sim.client("sub");
        let frames = c.frames_from("pub", MediaKind::Video);
        layer_of(frames.last().expect("video arrives").data.len())
    };
    assert_eq!(last(&mut sim), "f", "ample bandwidth: top layer");

    sim.client("pub").keyframe_requests.clear();
    let before = sim.client("sub").frames_from("pub", MediaKind::Video).len();
    let who = "sub".into();
    sim.room.cap_bitrate(&who, Some(250_000));
    sim.run(Duration::from_secs(2));
    let requests = sim.client("pub").keyframe_requests.clone();
    assert!(
        requests.contains(&Some("q".into())),
        "keyframe asked on q: {requests:?}"
    );
    assert_eq!(last(&mut sim), "q", "switched down");
    let c = sim.client("sub");
    let after: Vec<(usize, u8)> = c.frames_from("pub", MediaKind::Video)[before..]
        .iter()
        .map(|d| (d.data.len(), d.data[0]))
        .collect();
    let first_q = after
        .iter()
        .position(|(len, _)| layer_of(*len) == "q")
        .unwrap();
    assert_eq!(after[first_q].1 & 1, 0, "the switch happens on a keyframe");
    assert!(
        after[first_q..]
            .iter()
            .all(|(len, _)| layer_of(*len) == "q"),
        "no flapping back"
    );

    sim.room.cap_bitrate(&who, None);
    sim.run(Duration::from_millis(1000));
    assert_eq!(last(&mut sim), "q", "upgrades wait for a steady estimate");
    sim.run(Duration::from_secs(4));
    assert_eq!(last(&mut sim), "f", "and then climb back");
}

#[test]
fn the_subscribers_video_stays_one_continuous_stream_across_layer_switches() {
    let mut sim = Sim::new(SILENCE);
    sim.join("pub", true);
    sim.join("sub", false);
    sim.run(Duration::from_secs(4));
    let who = "sub".into();
    sim.room.cap_bitrate(&who, Some(250_000));
    sim.run(Duration::from_secs(2));
    sim.room.cap_bitrate(&who, None);
    sim.run(Duration::from_secs(5));

    let c = sim.client("sub");
    let layers: Vec<&str> = c
        .frames_from("pub", MediaKind::Video)
        .iter()
        .map(|d| layer_of(d.data.len()))
        .collect();
    let switches = layers.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(switches >= 2, "went down and back up: {switches} switches");
    let frames = c.frames_from("pub", MediaKind::Video);
    assert!(
        frames.iter().all(|d| d.contiguous),
        "every frame follows the one before without a gap"
    );

    let vp8 = *pt_of(&c.rtc, "0".into(), Codec::Vp8);
    // Media on the video m-line; probes (SSRC 0) and padding carry no payload.
    let video: Vec<RtpSeen> = c
        .rtp_in
        .iter()
        .filter(|p| p.pt == vp8 && p.ssrc != 0 && p.len > 0)
        .copied()
        .collect();
    assert!(video.len() > 500, "video arrived: {} packets", video.len());
    assert!(
        video.iter().all(|p| p.ssrc == video[0].ssrc),
        "one SSRC whatever the layer"
    );
    for w in video.windows(2) {
        assert_eq!(
            w[1].seq,
            w[0].seq.wrapping_add(1),
            "no sequence gap: {:?}",
            w
        );
        assert!(
            w[1].time.wrapping_sub(w[0].time) < 1 << 31,
            "timestamps never go back: {:?}",
            w
        );
    }
}

#[test]
fn the_preferred_layer_caps_what_a_subscriber_gets() {
    let mut sim = Sim::new(SILENCE);
    sim.join("pub", true);
    sim.join("sub", false);
    sim.room
        .set_preferred_layer(&"sub".into(), Some(1))
        .unwrap();
    sim.run(Duration::from_secs(4));
    let c = sim.client("sub");
    let frames = c.frames_from("pub", MediaKind::Video);
    assert_eq!(layer_of(frames.last().unwrap().data.len()), "h");
}

#[test]
fn lost_packets_are_recovered_by_nack_both_ways() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", false);
    sim.join("b", false);
    sim.run(Duration::from_secs(2));
    let (down, up) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    // Lose one large (video) packet towards b and one from a to the engine.
    let d = down.clone();
    sim.lose_down = Box::new(move |p| {
        let big = p.data.len() > 1000 && p.to.port() == 40001;
        d.set(d.get() + usize::from(big));
        big && d.get() == 3
    });
    let u = up.clone();
    sim.lose_up = Box::new(move |p| {
        let big = p.data.len() > 1000 && p.from.port() == 40000;
        u.set(u.get() + usize::from(big));
        big && u.get() == 5
    });
    let before = sim.client("b").frames_from("a", MediaKind::Video).len();
    sim.run(Duration::from_secs(2));
    assert!(down.get() > 3 && up.get() > 5, "both losses happened");
    let b = sim.client("b");
    let nacks = b
        .raw
        .iter()
        .filter(|r| r.starts_with("RtcpTx") && r.contains("Nack"))
        .count();
    assert!(nacks > 0, "b asked for the lost packet");
    let frames = b.frames_from("a", MediaKind::Video);
    assert!(frames.len() > before + 50);
    assert!(
        frames[before..].iter().all(|d| d.contiguous),
        "every frame complete: the losses were repaired"
    );
    let a = sim.client("a");
    assert!(
        a.raw
            .iter()
            .any(|r| r.starts_with("RtcpRx") && r.contains("Nack")),
        "the engine asked a for its lost packet"
    );
}

fn offers_to(sim: &Sim, who: &str) -> usize {
    sim.events
        .iter()
        .filter(|e| matches!(e, Event::Offer { participant, .. } if participant.as_str() == who))
        .count()
}

#[test]
fn a_late_joiner_and_a_screen_share_are_renegotiated() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", false);
    sim.join("b", false);
    sim.run(Duration::from_secs(2));
    sim.join("c", false);
    sim.run(Duration::from_secs(2));
    for (me, other) in [("c", "a"), ("c", "b"), ("a", "c"), ("b", "c")] {
        let got = sim.client(me).frames_from(other, MediaKind::Video).len();
        assert!(got > 10, "{me} gets video from {other}");
    }
    // The browser adds a screen share by re-offering; the others are offered it.
    let now = sim.now;
    sim.room.set_screen_share(now, &"a".into(), true).unwrap();
    sim.add_screen_share("a");
    sim.run(Duration::from_secs(2));
    for me in ["b", "c"] {
        let c = sim.client(me);
        let screen = c
            .frames_from("a", MediaKind::Video)
            .iter()
            .filter(|d| d.data.len() == 800)
            .count();
        assert!(screen > 10, "{me} sees a's screen share");
    }
    let offers = offers_to(&sim, "b");
    sim.stop_screen_share("a");
    sim.run(Duration::from_secs(1));
    assert!(
        sim.events.iter().any(|e| matches!(e, Event::TrackUnpublished { participant, .. } if participant.as_str() == "a")),
        "the app hears the screen share ended"
    );
    assert!(
        offers_to(&sim, "b") > offers,
        "b is offered the m-line's removal"
    );
    let count = |sim: &mut Sim| {
        sim.client("b")
            .frames_from("a", MediaKind::Video)
            .iter()
            .filter(|d| d.data.len() == 800)
            .count()
    };
    let screen = count(&mut sim);
    sim.run(Duration::from_secs(1));
    assert_eq!(count(&mut sim), screen, "no more screen frames");
    assert!(
        sim.client("b").frames_from("a", MediaKind::Audio).len() > 100,
        "the rest goes on"
    );
}

#[test]
fn glare_our_pending_offer_yields_to_the_browsers_and_is_sent_again() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", false);
    sim.run(Duration::from_secs(1));
    // Our offer to a (for b's tracks) goes unanswered: a is busy offering.
    sim.ignore_offers.push("a".into());
    sim.join("b", false);
    sim.run(Duration::from_secs(1));
    assert_eq!(offers_to(&sim, "a"), 1);
    sim.ignore_offers.clear();
    let now = sim.now;
    sim.room.set_screen_share(now, &"a".into(), true).unwrap();
    sim.add_screen_share("a");
    sim.run(Duration::from_secs(2));
    assert!(
        offers_to(&sim, "a") >= 2,
        "the engine offered again after answering"
    );
    assert!(sim.client("a").frames_from("b", MediaKind::Video).len() > 10);
    let screen = sim.client("b").frames_from("a", MediaKind::Video);
    assert!(
        screen.iter().any(|d| d.data.len() == 800),
        "b gets a's screen"
    );
}

#[test]
fn a_silent_participant_is_removed_after_the_timeout() {
    let mut sim = Sim::new(SILENCE);
    for name in ["a", "b", "c"] {
        sim.join(name, false);
    }
    sim.run(Duration::from_secs(2));
    sim.client("c").online = false;
    sim.run(SILENCE - Duration::from_secs(1));
    let gone = |sim: &Sim| {
        sim.events.iter().any(|e| {
            matches!(e, Event::Disconnected { participant, reason: DisconnectReason::Timeout, .. }
                if participant.as_str() == "c")
        })
    };
    assert!(!gone(&sim), "not before the timeout");
    sim.run(Duration::from_secs(2));
    assert!(gone(&sim), "removed after the timeout");
    assert!(sim.room.key_of(&"c".into()).is_none());
    let before = sim.client("a").frames_from("b", MediaKind::Video).len();
    sim.run(Duration::from_secs(1));
    assert!(
        sim.client("a").frames_from("b", MediaKind::Video).len() > before + 20,
        "a and b go on"
    );
}

#[test]
fn malformed_sdp_is_refused_and_the_room_goes_on() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", false);
    sim.join("b", false);
    sim.run(Duration::from_secs(1));
    let now = sim.now;
    for bad in [
        "",
        "garbage",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        "\u{0}\u{ff}",
    ] {
        let r = sim.room.join(now, "x".into(), bad);
        assert!(matches!(r, Err(SfuError::InvalidSdp(_))), "{bad:?}: {r:?}");
        let r = sim.room.offer(now, &"a".into(), bad);
        assert!(
            matches!(r, Err(SfuError::InvalidSdp(_))),
            "re-offer {bad:?}: {r:?}"
        );
    }
    assert_eq!(
        sim.room.answer(now, &"a".into(), "junk"),
        Err(SfuError::InvalidSdp("could not parse SDP".into()))
    );
    assert!(sim.room.key_of(&"x".into()).is_none());
    let before = sim.client("b").frames_from("a", MediaKind::Video).len();
    sim.run(Duration::from_secs(1));
    assert!(sim.client("b").frames_from("a", MediaKind::Video).len() > before + 20);
}

#[test]
fn the_therapist_can_stop_and_resume_forwarding_a_participant() {
    let mut sim = Sim::new(SILENCE);
    sim.join("t", false);
    sim.join("c", false);
    sim.run(Duration::from_secs(2));
    let now = sim.now;
    let count = |sim: &mut Sim, k| sim.client("t").frames_from("c", k).len();
    sim.room
        .set_forwarding(now, &"c".into(), TrackKind::Audio, false)
        .unwrap();
    let (audio, video) = (
        count(&mut sim, MediaKind::Audio),
        count(&mut sim, MediaKind::Video),
    );
    sim.run(Duration::from_secs(1));
    // A frame or two may already be in flight.
    assert!(count(&mut sim, MediaKind::Audio) <= audio + 2, "muted");
    assert!(
        count(&mut sim, MediaKind::Video) > video + 20,
        "camera still on"
    );
    let now = sim.now;
    sim.room
        .set_forwarding(now, &"c".into(), TrackKind::Audio, true)
        .unwrap();
    sim.room
        .set_forwarding(now, &"c".into(), TrackKind::Video, false)
        .unwrap();
    let (audio, video) = (
        count(&mut sim, MediaKind::Audio),
        count(&mut sim, MediaKind::Video),
    );
    sim.run(Duration::from_secs(1));
    assert!(count(&mut sim, MediaKind::Audio) > audio + 20, "unmuted");
    assert!(count(&mut sim, MediaKind::Video) <= video + 2, "camera off");
}

#[test]
fn leave_and_close_disconnect_and_renegotiate() {
    let mut sim = Sim::new(SILENCE);
    for name in ["a", "b", "c"] {
        sim.join(name, false);
    }
    sim.run(Duration::from_secs(2));
    let offers = offers_to(&sim, "a");
    let now = sim.now;
    sim.room.leave(now, &"b".into()).unwrap();
    assert_eq!(
        sim.room.leave(now, &"b".into()),
        Err(SfuError::NoSuchParticipant)
    );
    sim.run(Duration::from_secs(1));
    assert!(
        offers_to(&sim, "a") > offers,
        "a is offered the removal of b's tracks"
    );
    let before = sim.client("a").frames_from("c", MediaKind::Audio).len();
    sim.run(Duration::from_secs(1));
    assert!(sim.client("a").frames_from("c", MediaKind::Audio).len() > before + 20);
    let now = sim.now;
    sim.room.close(now);
    sim.flush();
    assert!(sim.room.is_empty());
    let reasons: Vec<_> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Disconnected {
                participant,
                reason,
                ..
            } => Some((participant.to_string(), *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 3);
    assert!(reasons.contains(&("b".into(), DisconnectReason::Left)));
    assert!(reasons.contains(&("a".into(), DisconnectReason::RoomClosed)));
}

#[test]
fn the_loudest_participant_is_reported_as_active_speaker() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", false);
    sim.join("b", false);
    sim.run(Duration::from_secs(3));
    // Both simulated browsers send -20 dBov; one of them must be picked.
    let speaker = sim.events.iter().find_map(|e| match e {
        Event::ActiveSpeaker { participant, .. } => Some(participant.clone()),
        _ => None,
    });
    assert!(matches!(speaker, Some(Some(_))), "{speaker:?}");
}

#[test]
fn an_ice_restart_keeps_the_participant_and_its_media() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", false);
    sim.join("b", false);
    sim.run(Duration::from_secs(2));
    let (before, after) = sim.ice_restart("a");
    assert_ne!(before, after, "new local credentials");
    let got = sim.client("b").frames_from("a", MediaKind::Video).len();
    sim.run(Duration::from_secs(2));
    assert!(sim.client("b").frames_from("a", MediaKind::Video).len() > got + 30);
    assert!(sim.client("a").frames_from("b", MediaKind::Audio).len() > 100);
}

/// Frames of `publisher`'s screen share (the simulated screen sends 800-byte frames).
fn screen_frames(sim: &mut Sim, me: &str, publisher: &str) -> usize {
    sim.client(me)
        .frames_from(publisher, MediaKind::Video)
        .iter()
        .filter(|d| d.data.len() == 800)
        .count()
}

#[test]
fn a_second_video_track_reaches_no_one_until_allowed_and_stops_when_revoked() {
    let mut sim = Sim::new(SILENCE);
    for name in ["t", "a", "b"] {
        sim.join(name, false);
    }
    sim.run(Duration::from_secs(2));
    let offers = offers_to(&sim, "t");
    // Never allowed: the re-offer is answered, but nothing is forwarded.
    sim.add_screen_share("a");
    sim.run(Duration::from_secs(2));
    for me in ["t", "b"] {
        assert_eq!(screen_frames(&mut sim, me, "a"), 0, "{me} gets no screen");
        let camera = sim.client(me).frames_from("a", MediaKind::Video).len();
        assert!(camera > 50, "{me} still gets a's camera");
    }
    assert_eq!(offers_to(&sim, "t"), offers, "no m-line is even offered");

    let now = sim.now;
    sim.room.set_screen_share(now, &"a".into(), true).unwrap();
    sim.run(Duration::from_secs(2));
    for me in ["t", "b"] {
        assert!(
            screen_frames(&mut sim, me, "a") > 10,
            "{me} sees it once allowed"
        );
    }

    let now = sim.now;
    sim.room.set_screen_share(now, &"a".into(), false).unwrap();
    sim.run(Duration::from_millis(500));
    let seen: Vec<usize> = ["t", "b"]
        .map(|me| screen_frames(&mut sim, me, "a"))
        .to_vec();
    sim.run(Duration::from_secs(2));
    for (me, before) in ["t", "b"].into_iter().zip(seen) {
        assert_eq!(
            screen_frames(&mut sim, me, "a"),
            before,
            "{me}: revoked, stopped"
        );
    }
    let camera = sim.client("b").frames_from("a", MediaKind::Video).len();
    sim.run(Duration::from_secs(1));
    assert!(
        sim.client("b").frames_from("a", MediaKind::Video).len() > camera + 20,
        "the camera goes on"
    );

    // Allowed again: a new m-line carries it once the old one is stopped.
    let now = sim.now;
    sim.room.set_screen_share(now, &"a".into(), true).unwrap();
    let before = screen_frames(&mut sim, "b", "a");
    sim.run(Duration::from_secs(2));
    assert!(
        screen_frames(&mut sim, "b", "a") > before + 10,
        "allowed again"
    );
}

#[test]
fn a_third_video_track_is_held_back_even_with_the_screen_allowed() {
    let mut sim = Sim::new(SILENCE);
    sim.join("a", false);
    sim.join("b", false);
    sim.run(Duration::from_secs(1));
    // A third video track: even with the screen allowed, only two go out.
    let now = sim.now;
    sim.room.set_screen_share(now, &"a".into(), true).unwrap();
    sim.add_screen_share("a");
    sim.add_screen_share("a");
    sim.run(Duration::from_secs(2));
    let b = sim.client("b");
    let mids: std::collections::HashSet<_> = b
        .frames_from("a", MediaKind::Video)
        .iter()
        .map(|d| d.mid)
        .collect();
    assert_eq!(mids.len(), 2, "camera and one screen, not three tracks");
}
