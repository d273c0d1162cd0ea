//! Video rooms in a real browser: Debian's Chromium (and, in firefox.rs,
//! Firefox ESR) with a fake camera and microphone, driven over WebDriver.
//! Each test is a whole session: pre-call page, waiting room, admission,
//! media both ways, chat, controls. The tests run one at a time (a lock),
//! since three browsers already fill two cores.

mod audio_only;
mod background;
mod bilateral;
mod clock;
mod every_form;
mod firefox;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod join_speed;
mod journeys;
mod netns;
mod person;
mod privacy_and_sound;
mod proxied_nodes;
mod reconnect;
mod room_ui;
mod scene;
mod screen;
mod surveys;
mod webdriver;

use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Mutex;

use helpers::{Backend, TestApp};
use scene::{
    decodes_from, ends_the_session, join_status, scene, sends_chat, server_cpu_over, tile_action,
};
use webdriver::Driver;

pub(crate) static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_session_with_waiting_room_media_chat_remove_and_end() {
    let _one = ONE_AT_A_TIME.lock().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (therapist, ben, cleo) = (
        driver.browser().await,
        driver.browser().await,
        driver.browser().await,
    );
    let scene = scene(
        app,
        &therapist,
        "group",
        &[
            ("Ben Okafor", "ben@example.com"),
            ("Cleo Park", "cleo@example.com"),
        ],
    )
    .await;

    scene.client_waits(&ben, 0, true).await;
    scene.client_waits(&cleo, 1, true).await;
    scene.therapist_opens_the_room(&therapist).await;

    // The therapist sees both names they entered and lets everyone in.
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.wait_text("Cleo Park", 20).await;
    therapist.screenshot("group-therapist-waiting-list").await;
    ben.screenshot("group-client-waiting").await;
    assert!(
        !ben.text().await.contains("Cleo"),
        "a waiting client never sees the waiting list"
    );
    therapist.click_button("Admit all").await;

    for (browser, who) in [(&therapist, "therapist"), (&ben, "Ben"), (&cleo, "Cleo")] {
        decodes_from(browser, who, 2).await;
    }
    let cpu = server_cpu_over(Duration::from_secs(5)).await;
    eprintln!("server CPU with 3 people in the room: {cpu:.0}% of one core (web app in a debug build, media engine optimised)");
    // Other clients see a first name; the therapist sees the full name.
    ben.wait_text("Cleo", 10).await;
    assert!(!ben.text().await.contains("Cleo Park"));

    // Chat reaches everyone in the room.
    sends_chat(&cleo, "Hello from Cleo").await;
    ben.wait_text("Hello from Cleo", 10).await;
    therapist.wait_text("Hello from Cleo", 10).await;
    therapist.screenshot("group-therapist-room").await;
    assert!(
        !therapist.text().await.contains("waiting to be let in"),
        "no stale waiting count once everyone is in"
    );
    cleo.screenshot("group-client-room").await;
    therapist
        .phone_screenshot("group-therapist-room-phone")
        .await;

    // Mute is enforced by the server and told to the client.
    tile_action(&therapist, "Cleo Park", "Mute").await;
    cleo.wait_text("Unmute me", 10).await;
    therapist.wait_text("muted", 10).await;

    // Remove: Ben is out, and his link no longer opens the session.
    tile_action(&therapist, "Ben Okafor", "Remove").await;
    ben.wait_text("removed you", 10).await;
    assert_eq!(
        join_status(&scene.app, &scene.tokens[0]).await,
        StatusCode::GONE
    );
    // The others keep their media: Cleo still decodes the therapist.
    decodes_from(&cleo, "Cleo after the removal", 1).await;

    // End session closes the room for everyone.
    ends_the_session(&therapist).await;
    cleo.wait_text("The session has ended", 10).await;
    therapist.wait_text("The session has ended", 10).await;
    assert_eq!(
        join_status(&scene.app, &scene.tokens[1]).await,
        StatusCode::GONE
    );

    for b in [therapist, ben, cleo] {
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_to_one_session_admits_shows_video_both_ways_and_ends() {
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

    // The pre-call check gets media through, over UDP.
    scene.client_opens_the_invitation(&ben, 0).await;
    ben.wait_text("Video and sound get through your network", 20)
        .await;
    ben.screenshot("one-to-one-client-precall").await;
    scene.therapist_opens_the_room(&therapist).await;
    scene.client_waits(&ben, 0, false).await;
    assert!(
        !ben.text().await.contains("confidential"),
        "no group acknowledgement in a 1:1 session"
    );
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.click_button("Admit").await;
    decodes_from(&therapist, "therapist", 1).await;
    decodes_from(&ben, "Ben", 1).await;

    sends_chat(&therapist, "Welcome, Ben").await;
    ben.wait_text("Welcome, Ben", 10).await;

    ends_the_session(&therapist).await;
    ben.wait_text("The session has ended", 10).await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_flows_over_ice_tcp_when_only_the_tcp_candidate_is_announced() {
    let _one = ONE_AT_A_TIME.lock().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.media.tcp_only = true).await;
    let (therapist, ben) = (driver.browser().await, driver.browser().await);
    let scene = scene(
        app,
        &therapist,
        "individual",
        &[("Ben Okafor", "ben@example.com")],
    )
    .await;

    // The pre-call check finds that media gets through, and over TCP.
    scene.client_opens_the_invitation(&ben, 0).await;
    ben.wait_text("takes a slower one", 20).await;
    scene.therapist_opens_the_room(&therapist).await;
    scene.client_waits(&ben, 0, false).await;
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.click_button("Admit").await;
    let seen = decodes_from(&ben, "Ben over TCP", 1).await;
    assert!(seen.tcp, "the selected candidate pair is TCP");
    let seen = decodes_from(&therapist, "therapist over TCP", 1).await;
    assert!(seen.tcp, "the selected candidate pair is TCP");
    for b in [therapist, ben] {
        b.quit().await;
    }
}
