//! Bilateral stimulation from the pages: the therapist opens its panel from
//! the toolbar and starts the dot for their client; the client's page shows
//! it moving, can hide it for themselves, and it is gone after Stop.
//! Screenshots (desktop and phone) go to `REGROUP_SCREENSHOTS` when set.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};
use crate::room_ui::fits_a_phone;
use crate::scene::{ends_the_session, scene};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

const DOT: &str = "//div[@id='bilateral-dot']";

/// The dot's left edge on the page, or null when it is not shown.
async fn dot_left(browser: &Browser) -> Value {
    browser
        .js(
            "const d = document.getElementById('bilateral-dot'); \
             if (!d || !d.offsetParent) return null; return d.getBoundingClientRect().left",
            json!([]),
        )
        .await
}

/// How far the dot travels across several reads over a second: a dot
/// eased at the edges can sit in the same place twice, never five times.
async fn travel(browser: &Browser) -> f64 {
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(dot_left(browser).await.as_f64().expect("the dot is shown"));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (low, high) = seen
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
    high - low
}

async fn wait_until(browser: &Browser, what: &str, script: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let value = browser.js(script, json!([])).await;
        if value != Value::Null && value != json!(false) {
            return;
        }
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Frame-by-frame places of the dot: its speed never exceeds what the
/// fastest setting allows (π/2 × 2 passes/s × the width it crosses, eased
/// by a cosine), with room for a read that lands a frame late. A phase that
/// restarted on a speed change would show as a leap within one frame.
fn no_jumps(recorded: &Value) {
    let room = recorded["room"].as_f64().expect("the dot's track width");
    let samples: Vec<(f64, f64)> = recorded["out"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let limit = std::f64::consts::FRAC_PI_2 * 2.0 * room * 2.5;
    let mut fastest: f64 = 0.0;
    let mut steps: Vec<f64> = Vec::new();
    for pair in samples.windows(2) {
        let (dt, dx) = (
            (pair[1].0 - pair[0].0) / 1000.0,
            (pair[1].1 - pair[0].1).abs(),
        );
        steps.push(dt * 1000.0);
        if dt > 0.0 {
            fastest = fastest.max(dx / dt);
        }
    }
    steps.sort_by(f64::total_cmp);
    let median = steps.get(steps.len() / 2).copied().unwrap_or(0.0);
    eprintln!(
        "bilateral dot: {} frames in 2.5 s (median {median:.1} ms apart), fastest {fastest:.0} px/s over a {room:.0} px track, limit {limit:.0} px/s",
        samples.len()
    );
    assert!(
        samples.len() > 5,
        "the dot is drawn frame by frame: {}",
        samples.len()
    );
    assert!(
        fastest < limit,
        "the dot leapt: {fastest:.0} px/s against at most {limit:.0}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_therapist_moves_a_dot_across_the_clients_stage_which_they_can_hide_until_stop() {
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
    assert!(
        dot_left(&ben).await.is_null(),
        "no dot before the therapist starts one"
    );
    assert!(
        !ben.text().await.contains("Hide the moving dot"),
        "the client's switch shows only with a dot"
    );

    // To hear what a person would, the test notes each tone's side as Ben's
    // page makes it (the page itself is unchanged).
    ben.js(
        "const Real = window.StereoPannerNode; window.pans = []; \
         window.StereoPannerNode = function (ctx, options) { window.pans.push(options.pan); return new Real(ctx, options); };",
        json!([]),
    )
    .await;

    // The panel opens from the toolbar; in 1:1 the one client is chosen.
    therapist.click_button("Bilateral stimulation").await;
    therapist
        .find("//h2[normalize-space()='Bilateral stimulation']", 10)
        .await;
    let chosen = therapist
        .js(
            "const s = document.getElementById('bilateral-target'); return s.options[s.selectedIndex].text",
            json!([]),
        )
        .await;
    assert_eq!(chosen, json!("Ben Okafor"));
    therapist.choose("Colour", "Yellow").await;
    therapist
        .click("//label[normalize-space()=\"Tones in the client's headphones\"]")
        .await;
    therapist.click_button("Start").await;
    therapist.wait_text("Moving for Ben Okafor.", 10).await;

    // Ben's page: a yellow dot that moves, and news in the status line.
    ben.find(DOT, 10).await;
    ben.wait_text("Your therapist started the moving dot", 5)
        .await;
    let moved = travel(&ben).await;
    assert!(moved > 1.0, "the dot moves: {moved} px");
    let colour = ben
        .js(
            "return getComputedStyle(document.getElementById('bilateral-dot')).backgroundColor",
            json!([]),
        )
        .await;
    assert_eq!(colour, json!("rgb(255, 212, 92)"));
    ben.screenshot("bilateral-client").await;
    therapist.screenshot("bilateral-therapist-panel").await;

    // Faster, by keyboard on the slider, while Ben's page records where the
    // dot is each frame: the new speed reaches him and the dot does not jump.
    let record = ben.js_async(
        "const done = arguments[arguments.length - 1]; const d = document.getElementById('bilateral-dot'); \
         const out = []; const t0 = performance.now(); \
         const frame = (t) => { out.push([t, d.getBoundingClientRect().left]); \
           if (t - t0 < 2500) requestAnimationFrame(frame); \
           else done({ out, room: d.parentElement.clientWidth - d.offsetWidth }); }; \
         requestAnimationFrame(frame);",
    );
    let faster = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        therapist
            .press_on("//input[@id='bilateral-speed']", "\u{E014}\u{E014}")
            .await;
    };
    let (recorded, ()) = tokio::join!(record, faster);
    no_jumps(&recorded);
    wait_until(
        &ben,
        "the new speed reaches Ben",
        "return window.regroup.trace.filter((t) => t === 'bilateral').length >= 3",
        10,
    )
    .await;

    // Pause holds the dot still; Resume moves it on.
    therapist.click_button("Pause").await;
    therapist.wait_text("Paused for Ben Okafor.", 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let moved = travel(&ben).await;
    assert!(moved < 0.5, "a paused dot stays: {moved} px");
    therapist.click_button("Resume").await;
    therapist.wait_text("Moving for Ben Okafor.", 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let moved = travel(&ben).await;
    assert!(moved > 1.0, "the dot moves again: {moved} px");

    // The tones came at the edges, left and right in turn.
    let pans = ben.js("return window.pans", json!([])).await;
    let pans: Vec<f64> = pans
        .as_array()
        .expect("tones")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    eprintln!("bilateral tones so far (pan): {pans:?}");
    assert!(pans.len() >= 2, "tones at the edges: {pans:?}");
    assert!(
        pans.windows(2).all(|w| w[0] == -w[1] && w[0].abs() == 1.0),
        "the tones alternate between the ears: {pans:?}"
    );

    // Ben hides it for himself (and so hears no tones), and shows it again.
    ben.click_button("Hide the moving dot").await;
    assert!(dot_left(&ben).await.is_null(), "hidden on Ben's page");
    let heard = ben.js("return window.pans.length", json!([])).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        ben.js("return window.pans.length", json!([])).await,
        heard,
        "no tones while hidden"
    );
    ben.find("//button[normalize-space()='Show the moving dot']", 5)
        .await;
    therapist.wait_text("Moving for Ben Okafor.", 2).await;
    ben.click_button("Show the moving dot").await;
    ben.find(DOT, 5).await;

    // On a phone: the dot crosses the narrow stage; the panel fits.
    fits_a_phone(&ben, "bilateral-client-phone").await;
    fits_a_phone(&therapist, "bilateral-therapist-phone").await;

    // Escape closes the panel and gives focus back to its button.
    therapist
        .press_on("//h2[@id='bilateral-title']", "\u{E00C}")
        .await;
    wait_until(
        &therapist,
        "the panel closes and focus returns to its button",
        "return document.getElementById('bilateral-panel').hidden \
         && document.activeElement === document.getElementById('toggle-bilateral')",
        5,
    )
    .await;

    // Stop: the dot and the client's switch are gone.
    therapist.click_button("Bilateral stimulation").await;
    therapist.click_button("Stop").await;
    therapist.wait_text("Off.", 10).await;
    wait_until(
        &ben,
        "the dot goes on Stop",
        "return !document.getElementById('bilateral-dot').offsetParent \
         && document.getElementById('bilateral-hide').hidden",
        10,
    )
    .await;
    ben.wait_text("The moving dot stopped.", 5).await;
    ben.screenshot("bilateral-client-stopped").await;

    ends_the_session(&therapist).await;
    ben.wait_text("The session has ended", 10).await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_group_the_dot_waits_for_a_chosen_client_and_only_they_see_it() {
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
    therapist.wait_text("Cleo Park", 20).await;
    therapist.click_button("Admit all").await;
    for b in [&ben, &cleo] {
        b.find("//button[@aria-label='Leave']", 20).await;
    }

    // Nobody is chosen in a group: Start asks for a client first.
    therapist.click_button("Bilateral stimulation").await;
    therapist
        .find(
            "//select[@id='bilateral-target']/option[normalize-space()='Cleo Park']",
            20,
        )
        .await;
    therapist.click_button("Start").await;
    therapist.wait_text("Choose a client first.", 5).await;
    assert!(dot_left(&ben).await.is_null() && dot_left(&cleo).await.is_null());

    therapist.choose("Client", "Cleo Park").await;
    therapist.click_button("Start").await;
    therapist.wait_text("Moving for Cleo Park.", 10).await;
    cleo.find(DOT, 10).await;
    let moved = travel(&cleo).await;
    assert!(moved > 1.0, "the dot moves for Cleo: {moved} px");
    cleo.screenshot("bilateral-group-chosen-client").await;
    // Ben's page never shows it, nor its switch.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(dot_left(&ben).await.is_null(), "not on Ben's page");
    assert!(!ben.text().await.contains("moving dot"));

    // Choosing Ben moves it over: gone from Cleo's page, on Ben's.
    therapist.choose("Client", "Ben Okafor").await;
    therapist.wait_text("Moving for Ben Okafor.", 10).await;
    ben.find(DOT, 10).await;
    wait_until(
        &cleo,
        "the dot leaves Cleo's page",
        "return !document.getElementById('bilateral-dot').offsetParent",
        10,
    )
    .await;
    therapist.screenshot("bilateral-group-therapist").await;

    ends_the_session(&therapist).await;
    for b in [&ben, &cleo] {
        b.wait_text("The session has ended", 10).await;
        assert!(dot_left(b).await.is_null(), "no dot after the end");
    }
    for b in [therapist, ben, cleo] {
        b.quit().await;
    }
}
