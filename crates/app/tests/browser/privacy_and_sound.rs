//! The pre-call privacy check and the sound switches (docs/room-ui.md): a
//! client sees the check, joins without ticking anything, hides it for good
//! on this device; noise suppression turned off before joining and on
//! again in the room's Settings panel changes what the microphone track
//! really does (its `getSettings()`), is remembered, and never drops the
//! call. Chromium's fake microphone has no name that says headphones, so
//! the therapist sees no headphones mark.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};
use crate::room_ui::fits_a_phone;
use crate::scene::{decodes_from, ends_the_session, scene, tile};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

const CHECK: &str = "A moment for your privacy";
const NOISE: &str = "//label[contains(., '(noise suppression)')]";

/// The noise suppression the microphone track really has: on the pre-call
/// page the previewed stream's, in the room the one the connection sends.
const NOISE_NOW: &str = r#"
const inRoom = !document.getElementById('room').hidden;
let track = null;
if (inRoom) {
  const pc = window.regroup && window.regroup.pc;
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
  track = sender ? sender.track : null;
} else {
  const stream = document.getElementById('preview').srcObject;
  track = stream ? stream.getAudioTracks()[0] : null;
}
if (!track || track.readyState !== 'live') return null;
return track.getSettings().noiseSuppression;
"#;

async fn wait_until(browser: &Browser, what: &str, script: &str, want: Value, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let value = browser.js(script, json!([])).await;
        if value == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} within {secs} s: got {value}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn noise_suppression_becomes(browser: &Browser, on: bool) {
    wait_until(
        browser,
        &format!(
            "the microphone's noise suppression {}",
            if on { "on" } else { "off" }
        ),
        NOISE_NOW,
        json!(on),
        15,
    )
    .await;
}

/// Whether the noise suppression switch is ticked.
async fn noise_switch(browser: &Browser) -> Value {
    browser
        .js(
            "return document.getElementById('sound-noise').checked",
            json!([]),
        )
        .await
}

/// Whether the privacy check is on the page, visible.
async fn check_shown(browser: &Browser) -> bool {
    browser
        .js(
            "const c = document.getElementById('privacy-check'); return Boolean(c) && !c.hidden && c.offsetHeight > 0",
            json!([]),
        )
        .await
        == json!(true)
}

/// The page again from the server, as a person pressing reload; back once
/// the connectivity check has its answer (whatever it is) and the
/// microphone is open.
async fn reloads(browser: &Browser) {
    let url = browser.js("return location.href", json!([])).await;
    browser.goto(url.as_str().unwrap()).await;
    browser.wait_text("video server", 20).await;
    wait_until(
        browser,
        "the microphone open",
        "return document.getElementById('preview').srcObject !== null",
        json!(true),
        20,
    )
    .await;
}

/// Hides the privacy check with its button.
async fn dismisses_the_check(browser: &Browser) {
    // (Its name has an apostrophe: quoted the other way in the XPath.)
    browser
        .click("//button[normalize-space()=\"Don't show this again on this device\"]")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_skips_the_privacy_check_hides_it_for_good_and_switches_noise_suppression() {
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
    assert!(
        !therapist.text().await.contains(CHECK),
        "the check is for clients"
    );

    // The client's pre-call page offers the check; the policy is one click away.
    scene.client_opens_the_invitation(&ben, 0).await;
    ben.wait_text(CHECK, 20).await;
    ben.wait_text("This session is not recorded", 5).await;
    ben.find("//section[@id='privacy-check']//a[@href='/privacy']", 5)
        .await;
    ben.wait_text("Connected to the video server", 20).await;
    // Noise suppression is on by default; off, the microphone really is.
    noise_suppression_becomes(&ben, true).await;
    assert_eq!(noise_switch(&ben).await, json!(true));
    ben.click(NOISE).await;
    noise_suppression_becomes(&ben, false).await;
    ben.js(
        "document.getElementById('privacy-check').scrollIntoView({ block: 'center' })",
        json!([]),
    )
    .await;
    ben.screenshot("precall-privacy-check").await;
    ben.set_window(390, 844).await;
    ben.js(
        "document.getElementById('privacy-check').scrollIntoView({ block: 'center' })",
        json!([]),
    )
    .await;
    ben.screenshot("precall-privacy-check-phone").await;
    ben.set_window(1200, 900).await;

    // Nothing ticked, and Join works.
    ben.click_button("Join session").await;
    ben.wait_text("will let you in shortly", 20).await;
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.click_button("Admit").await;
    decodes_from(&therapist, "therapist", 1).await;
    decodes_from(&ben, "Ben", 1).await;

    // In the room the microphone keeps the choice made before joining.
    noise_suppression_becomes(&ben, false).await;
    // Settings: the same switch; turned on, the track that is sent changes
    // on the same connection, and the therapist goes on hearing Ben.
    ben.js("window.connectionBefore = window.regroup.pc", json!([]))
        .await;
    ben.click_button("Settings").await;
    ben.find(
        "//aside[@id='settings-panel']//legend[normalize-space()='Sound']",
        10,
    )
    .await;
    assert_eq!(noise_switch(&ben).await, json!(false));
    ben.click(NOISE).await;
    noise_suppression_becomes(&ben, true).await;
    let same = ben
        .js(
            "return window.regroup.pc === window.connectionBefore && window.regroup.pc.connectionState",
            json!([]),
        )
        .await;
    assert_eq!(same, json!("connected"), "the same connection, still up");
    decodes_from(&therapist, "therapist after the switch", 1).await;
    ben.screenshot("room-settings-panel").await;
    fits_a_phone(&ben, "room-settings-panel-phone").await;

    // Chromium's fake devices are not named as headphones: the therapist
    // sees no mark and no words about them on Ben's tile or in the list.
    let mark = therapist
        .js(
            "const f = document.evaluate(arguments[0], document, null, 9, null).singleNodeValue; \
             return f ? [f.classList.contains('headphones'), getComputedStyle(f.querySelector('.flag-headphones')).display, f.querySelector('.state').textContent] : null",
            json!([tile("Ben Okafor")]),
        )
        .await;
    assert_eq!(mark[0], json!(false), "no headphones on Ben's tile: {mark}");
    assert_eq!(mark[1], json!("none"), "{mark}");
    assert!(!mark[2].as_str().unwrap().contains("headphones"), "{mark}");
    let list = therapist
        .js(
            "return document.getElementById('people-list').textContent",
            json!([]),
        )
        .await;
    assert!(!list.as_str().unwrap().contains("headphones"), "{list}");

    // Reloaded, the pre-call page remembers the switch and still offers
    // the check: dismissed, it stays away after the next reload.
    reloads(&ben).await;
    assert!(check_shown(&ben).await, "not dismissed yet");
    assert_eq!(noise_switch(&ben).await, json!(true));
    noise_suppression_becomes(&ben, true).await;
    dismisses_the_check(&ben).await;
    assert!(!check_shown(&ben).await, "dismissed");
    reloads(&ben).await;
    assert!(!check_shown(&ben).await, "still dismissed after a reload");
    assert!(!ben.text().await.contains(CHECK));

    // Back into the room without the check.
    ben.click_button("Join session").await;
    decodes_from(&ben, "Ben back in the room", 1).await;
    noise_suppression_becomes(&ben, true).await;

    ends_the_session(&therapist).await;
    ben.wait_text("The session has ended", 10).await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}

/// In Firefox: its fake microphone has no sound processing at all, and the
/// page says so in words rather than pretending; turned off, the switch
/// and the track agree, and the choice and the dismissed check are
/// remembered. Only the page: no media to the server, so no network
/// namespace (firefox.rs) is needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_firefox_the_sound_switches_say_what_the_microphone_does_and_are_remembered() {
    let _one = ONE_AT_A_TIME.lock().await;
    let chromium = Driver::start().await;
    let firefox = Driver::firefox().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (therapist, ben) = (chromium.browser().await, firefox.browser().await);
    let scene = scene(
        app,
        &therapist,
        "group",
        &[("Ben Okafor", "ben@example.com")],
    )
    .await;
    scene.client_opens_the_invitation(&ben, 0).await;
    let agent = ben.js("return navigator.userAgent", json!([])).await;
    assert!(agent.as_str().unwrap().contains("Firefox/"), "{agent}");
    ben.wait_text(CHECK, 20).await;
    ben.wait_text("what the others say stays with me", 5).await;
    ben.wait_text(
        "Your browser keeps noise suppression, echo cancellation and automatic volume off for this microphone.",
        20,
    )
    .await;
    noise_suppression_becomes(&ben, false).await;
    ben.js(
        "document.getElementById('sound-options').scrollIntoView({ block: 'center' })",
        json!([]),
    )
    .await;
    ben.screenshot("precall-sound-firefox").await;
    ben.click(NOISE).await;
    wait_until(
        &ben,
        "no more words about noise suppression",
        "return !document.getElementById('sound-status').textContent.includes('noise suppression')",
        json!(true),
        15,
    )
    .await;
    assert_eq!(noise_switch(&ben).await, json!(false));
    dismisses_the_check(&ben).await;
    assert!(!check_shown(&ben).await, "dismissed");

    reloads(&ben).await;
    assert!(!check_shown(&ben).await, "still dismissed after a reload");
    assert_eq!(noise_switch(&ben).await, json!(false), "remembered");
    let asked = ben
        .js(
            "return document.getElementById('preview').srcObject.getAudioTracks()[0].getConstraints().noiseSuppression",
            json!([]),
        )
        .await;
    assert_eq!(asked, json!(false), "the microphone is opened without it");
    for b in [therapist, ben] {
        b.quit().await;
    }
}
