//! Audio only in real browsers: the client chooses it from the toolbar, keeps
//! hearing the therapist, and the engine's own counters show that it writes
//! them no video; the therapist sees who is on audio only; pictures come back.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::room_ui::fits_a_phone;
use crate::scene::{decodes_from, ends_the_session, received, scene};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// What the engine has written to the person on `browser`'s page.
async fn forwarded(app: &TestApp, room: &str, browser: &Browser) -> regroup_sfu::Forwarded {
    let media = browser.js("return window.regroup.stream", json!([])).await;
    let media = media.as_str().expect("the page has a media connection");
    app.state
        .sfu
        .forwarded_to(room, media)
        .await
        .expect("the engine knows the participant")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_audio_only_a_client_hears_the_therapist_and_the_engine_sends_them_no_video() {
    let _one = ONE_AT_A_TIME.lock().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (therapist, ben) = (driver.browser().await, driver.browser().await);
    let scene = scene(
        app,
        &therapist,
        "individual",
        &[("Ben Okafor", "ben@example.com")],
    )
    .await;
    scene.one_to_one(&therapist, &ben).await;
    let room = therapist
        .js(
            "return document.getElementById('room-app').dataset.ws.split('/')[2]",
            json!([]),
        )
        .await;
    let room = room.as_str().unwrap().to_owned();
    let before = forwarded(&scene.app, &room, &ben).await;
    assert!(before.video_packets > 0, "video reached Ben: {before:?}");

    ben.click_button("Audio only").await;
    ben.find(
        "//button[@aria-label='Turn video back on' and @aria-pressed='true']",
        10,
    )
    .await;
    // The therapist sees it on Ben's tile.
    therapist.wait_text("Ben Okafor\n· audio only", 10).await;
    // Packets already on their way are let through; then nothing.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let paused = forwarded(&scene.app, &room, &ben).await;
    let heard = received(&ben).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = forwarded(&scene.app, &room, &ben).await;
    eprintln!("written to Ben: before {before:?}, on audio only {paused:?} -> {later:?}");
    assert_eq!(
        later.video_packets, paused.video_packets,
        "the engine writes no video to someone on audio only"
    );
    assert!(
        later.audio_packets >= paused.audio_packets + 100,
        "audio goes on: {paused:?} -> {later:?}"
    );
    let still = received(&ben).await;
    assert!(
        still.audio.iter().sum::<u64>() > heard.audio.iter().sum::<u64>() + 100,
        "Ben's browser keeps receiving audio: {heard:?} -> {still:?}"
    );
    // Ben's tiles show the therapist's initials, not a frozen picture.
    let hidden = ben
        .js(
            "const v = document.querySelector('#tiles figure:not(.self) video'); return getComputedStyle(v).visibility",
            json!([]),
        )
        .await;
    assert_eq!(hidden, json!("hidden"));
    // And Ben's own camera sends nothing: the therapist's picture of him stops.
    let seen = received(&therapist).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen_later = received(&therapist).await;
    assert_eq!(
        seen.video, seen_later.video,
        "no frames from Ben's camera while he is on audio only"
    );
    ben.screenshot("audio-only-client-desktop").await;
    therapist.screenshot("audio-only-therapist-desktop").await;
    fits_a_phone(&ben, "audio-only-client-phone").await;

    // How long until a new frame is decoded: the figure the issue names
    // (2 s), printed for the record rather than asserted on a busy machine.
    let frozen: u64 = received(&ben).await.video.iter().sum();
    let back = Instant::now();
    ben.click_button("Turn video back on").await;
    let deadline = back + Duration::from_secs(30);
    while received(&ben).await.video.iter().sum::<u64>() <= frozen {
        assert!(Instant::now() < deadline, "video never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "first new frame {} ms after Turn video back on",
        back.elapsed().as_millis()
    );
    decodes_from(&ben, "Ben, video back on", 1).await;
    ben.find(
        "//button[@aria-label='Audio only' and @aria-pressed='false']",
        10,
    )
    .await;
    assert!(
        forwarded(&scene.app, &room, &ben).await.video_packets > later.video_packets,
        "video is written again"
    );
    decodes_from(&therapist, "the therapist sees Ben again", 1).await;

    // A picture that stops (here the therapist's camera sends no more
    // frames, while the room still says it is on) is noticed after 5 s:
    // Ben is offered audio only, and nothing switches until he chooses.
    therapist
        .js(
            "const s = window.regroup.pc.getSenders().find((x) => x.track && x.track.kind === 'video'); s.replaceTrack(null);",
            json!([]),
        )
        .await;
    ben.wait_text("Video has stopped coming through", 20).await;
    ben.find(
        "//button[@aria-label='Audio only' and @aria-pressed='false']",
        1,
    )
    .await;
    ben.screenshot("audio-only-offer-desktop").await;
    ben.click_button("Switch to audio only").await;
    ben.find(
        "//button[@aria-label='Turn video back on' and @aria-pressed='true']",
        10,
    )
    .await;
    therapist.wait_text("Ben Okafor\n· audio only", 10).await;

    ends_the_session(&therapist).await;
    ben.wait_text("The session has ended", 10).await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}
