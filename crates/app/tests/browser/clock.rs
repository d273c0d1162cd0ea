//! The session clock as people see it (docs/room-ui.md, "Session clock"):
//! the therapist reads elapsed and remaining time, clients see it only once
//! the therapist shows it, near the end the notice and "Extend 15 minutes"
//! appear, and an extension gives more time. The server's clock is moved
//! forward; the pages learn the new time only from the server.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::scene::scene;
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// What the clock says, as a person reads it: (elapsed text, left text).
async fn reads_the_clock(browser: &Browser) -> (String, String) {
    let value = browser
        .js(
            "const c = document.getElementById('session-clock'); \
             if (!c || c.hidden) return null; \
             return [document.getElementById('clock-elapsed').textContent, document.getElementById('clock-left').textContent]",
            json!([]),
        )
        .await;
    assert!(!value.is_null(), "the clock is on the page");
    (
        value[0].as_str().unwrap_or_default().to_owned(),
        value[1].as_str().unwrap_or_default().to_owned(),
    )
}

/// "12:03" or "1:02:03" in seconds.
fn seconds(text: &str) -> i64 {
    text.split(':')
        .map(|part| part.trim().parse::<i64>().expect("a clock number"))
        .fold(0, |sum, n| sum * 60 + n)
}

/// Seconds until the scheduled end, from what the clock shows.
async fn seconds_left(browser: &Browser) -> i64 {
    let (elapsed, left) = reads_the_clock(browser).await;
    if let Some(wait) = elapsed.strip_prefix("Starts in ") {
        let minutes = left.strip_suffix(" minutes scheduled").expect(&left);
        return seconds(wait) + minutes.parse::<i64>().unwrap() * 60;
    }
    assert!(elapsed.ends_with(" elapsed"), "{elapsed}");
    seconds(left.strip_suffix(" left").expect(&left))
}

async fn clock_hidden(browser: &Browser) -> bool {
    browser
        .js(
            "const c = document.getElementById('session-clock'); return !c || c.hidden || c.offsetParent === null",
            json!([]),
        )
        .await
        == json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_therapist_keeps_time_extends_near_the_end_and_shows_clients_the_clock() {
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

    // The therapist sees the clock; it is plain text, not a live region
    // that would speak every second.
    therapist
        .find("//*[@role='group' and @aria-label='Session time']", 10)
        .await;
    let (elapsed, left) = reads_the_clock(&therapist).await;
    assert!(
        elapsed.ends_with(" elapsed") || elapsed.starts_with("Starts in "),
        "{elapsed}"
    );
    assert!(
        left.ends_with(" left") || left.ends_with(" minutes scheduled"),
        "{left}"
    );
    let quiet = therapist
        .js(
            "return !document.getElementById('clock-left').closest('[aria-live],[role=status]')",
            json!([]),
        )
        .await;
    assert_eq!(quiet, json!(true), "the time is not announced");
    // Ben sees nothing of it yet.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(clock_hidden(&ben).await, "no clock for the client yet");

    // Shown to clients: Ben sees the same clock.
    therapist.click_button("Show clock to clients").await;
    therapist
        .find("//button[normalize-space()='Hide clock from clients']", 10)
        .await;
    ben.find("//*[@role='group' and @aria-label='Session time']", 10)
        .await;
    let (_, ben_left) = reads_the_clock(&ben).await;
    assert!(
        ben_left.ends_with(" left") || ben_left.ends_with(" minutes scheduled"),
        "{ben_left}"
    );

    // Four minutes before the scheduled end (by the server's clock): the
    // notice, and the Extend button.
    let left = seconds_left(&therapist).await;
    scene
        .app
        .clock
        .advance(chrono::Duration::seconds(left - 4 * 60));
    therapist
        .wait_text("minutes left: the session is scheduled to end at", 10)
        .await;
    therapist
        .find("//button[normalize-space()='Extend 15 minutes']", 10)
        .await;
    let before = seconds_left(&therapist).await;
    assert!(
        (180..=245).contains(&before),
        "about 4 minutes left: {before}"
    );
    therapist.screenshot("clock-therapist-notice-desktop").await;
    ben.screenshot("clock-client-shown-desktop").await;
    therapist
        .phone_screenshot("clock-therapist-notice-phone")
        .await;
    ben.phone_screenshot("clock-client-shown-phone").await;

    // Extend: the remaining time grows by 15 minutes, for Ben too.
    therapist.click_button("Extend 15 minutes").await;
    therapist.wait_text("The session now ends at", 10).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let after = seconds_left(&therapist).await;
        if after > before + 14 * 60 || Instant::now() > deadline {
            break after;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        after > before + 14 * 60 && after <= before + 15 * 60 + 5,
        "15 more minutes: {before} s, then {after} s"
    );
    assert!(
        seconds_left(&ben).await > 15 * 60,
        "the client's clock moved too"
    );
    therapist.settle().await;
    assert!(
        therapist
            .js(
                "return document.getElementById('clock-extend').hidden",
                json!([])
            )
            .await
            == json!(true),
        "Extend goes away with the notice"
    );
    therapist
        .screenshot("clock-therapist-extended-desktop")
        .await;

    // Hidden again: Ben's clock goes.
    therapist.click_button("Hide clock from clients").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !clock_hidden(&ben).await {
        assert!(Instant::now() < deadline, "Ben's clock goes away");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ben.screenshot("clock-client-hidden-desktop").await;

    // A minute past the (new) scheduled end: the therapist is told, the
    // room stays open with Ben in it, and Extend is there again.
    let left = seconds_left(&therapist).await;
    scene
        .app
        .clock
        .advance(chrono::Duration::seconds(left + 60));
    therapist
        .wait_text(
            "The scheduled time is over. The room stays open while you are here, until",
            10,
        )
        .await;
    therapist
        .find("//button[normalize-space()='Extend 15 minutes']", 10)
        .await;
    let (_, over) = reads_the_clock(&therapist).await;
    assert!(over.ends_with(" over time"), "{over}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let text = ben.text().await;
    assert!(
        !text.contains("The session has ended"),
        "the client is not cut off: {text}"
    );
    ben.find("//button[@aria-label='Leave']", 5).await;
    therapist.screenshot("clock-therapist-over-desktop").await;
}
