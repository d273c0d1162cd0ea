//! Background blur and a plain background, made in the sender's browser:
//! the person picks one on the pre-call page, and what the other side
//! decodes is the composed picture. Chromium's fake camera draws on a green
//! background, so a plain background shows up as a different colour in the
//! corners of the picture the therapist receives.

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};
use crate::scene::{decodes_from, scene};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// The mean colour of the top-left corner of each remote video the page
/// shows (tracks that arrive over the peer connection, not the self-view).
const REMOTE_CORNERS: &str = r#"
const pc = window.regroup && window.regroup.pc;
if (!pc) return [];
const remote = new Set(pc.getReceivers().map((r) => r.track && r.track.id));
const canvas = document.createElement('canvas');
canvas.width = 32; canvas.height = 18;
const ctx = canvas.getContext('2d', { willReadFrequently: true });
return [...document.querySelectorAll('video')]
  .filter((v) => v.srcObject && v.videoWidth > 0
    && v.srcObject.getVideoTracks().some((t) => remote.has(t.id)))
  .map((v) => {
    ctx.drawImage(v, 0, 0, 32, 18);
    const d = ctx.getImageData(0, 0, 4, 3).data;
    const mean = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) for (let c = 0; c < 3; c += 1) mean[c] += d[i + c] / (d.length / 4);
    return mean.map(Math.round);
  });
"#;

/// Whether the video the page sends is drawn on a canvas (Chromium's
/// canvas tracks carry their canvas) rather than coming from the camera.
const SENDS_CANVAS: &str = r#"
const pc = window.regroup && window.regroup.pc;
const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'video');
return sender ? 'canvas' in sender.track : null;
"#;

fn greenish(rgb: &[i64]) -> bool {
    rgb[1] > rgb[0] + 40 && rgb[1] > rgb[2] + 40
}

async fn corners(browser: &Browser) -> Vec<Vec<i64>> {
    let value = browser.js(REMOTE_CORNERS, json!([])).await;
    value
        .as_array()
        .map(|all| {
            all.iter()
                .map(|c| {
                    c.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_i64().unwrap())
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the first remote picture's corner satisfies `want`.
async fn corner_becomes(browser: &Browser, what: &str, want: impl Fn(&[i64]) -> bool) {
    let mut last = Vec::new();
    for _ in 0..60 {
        last = corners(browser).await;
        if last.first().is_some_and(|c| want(c)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("the received picture's corner never became {what}: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_background_made_by_the_client_is_what_the_therapist_receives() {
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
    scene.therapist_opens_the_room(&therapist).await;
    scene.client_opens_the_invitation(&ben, 0).await;
    ben.wait_text("Connected to the video server", 20).await;
    ben.choose("Background", "Plain colour").await;
    let made = ben
        .find(
            "//p[@id='background-status'][contains(., 'plain colour') or contains(., 'too slow')]",
            60,
        )
        .await;
    assert!(!made.is_empty());
    let ms = ben
        .js(
            "return document.getElementById('background-status').dataset.ms",
            json!([]),
        )
        .await;
    eprintln!("segmentation in this Chromium: {ms} ms a frame (median of the first 8)");
    let words = ben.text().await;
    assert!(
        !words.contains("too slow"),
        "segmentation was too slow on this machine to test the effect: {words}"
    );
    ben.screenshot("background-plain-precall").await;
    ben.click_button("Join session").await;
    ben.wait_text("will let you in shortly", 20).await;
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.click_button("Admit").await;
    decodes_from(&therapist, "therapist", 1).await;
    // Only Ben's picture matters here. Without the therapist's video to
    // encode and decode, two browsers and a blur fit a slow machine better.
    therapist.click_button("Stop my camera").await;
    assert_eq!(
        ben.js(SENDS_CANVAS, json!([])).await,
        Value::Bool(true),
        "the client sends the composed picture, not the camera"
    );
    // The fake camera's green is gone from the corners the therapist sees.
    corner_becomes(&therapist, "the plain colour", |c| !greenish(c)).await;
    therapist.screenshot("background-plain-therapist").await;

    // In the room, the toolbar shows the background again, and then blurs
    // it; the therapist keeps decoding Ben's video through both switches.
    ben.click_button("Show my background").await;
    corner_becomes(&therapist, "the camera's own green", greenish).await;
    assert_eq!(ben.js(SENDS_CANVAS, json!([])).await, Value::Bool(false));
    decodes_from(&therapist, "therapist, background shown", 1).await;
    ben.click_button("Blur my background").await;
    ben.find("//button[@aria-label='Show my background']", 60)
        .await;
    assert_eq!(ben.js(SENDS_CANVAS, json!([])).await, Value::Bool(true));
    decodes_from(&therapist, "therapist, background blurred", 1).await;

    // The last choice is remembered on this device: the next visit starts with it.
    ben.goto(&format!("{}/join/{}", scene.app.base, scene.tokens[0]))
        .await;
    ben.wait_text("Connected to the video server", 20).await;
    assert_eq!(ben.value_of("Background").await, "blur");
    ben.choose("Background", "As it is").await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}
