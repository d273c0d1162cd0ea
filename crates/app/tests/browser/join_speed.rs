//! How long admission takes in a real browser: a therapist and two clients
//! in Chromium, the clients waiting; from the therapist pressing "Admit all"
//! to each client's first decoded remote video frame. A benchmark, not a
//! test: ignored, run by `scripts/bench-join` (release build), and never
//! failing on a slow figure.
//!
//! Both ends are read on the system clock (`Date.now()` in each browser
//! process), so the three browsers' times compare: the press in a capturing
//! click listener of the therapist's page, the frame when the client's first
//! remote tile's video has a frame to show (`loadeddata`: the first decoded
//! frame reached the element, which Chromium composites off the main thread
//! at the next vsync). `requestVideoFrameCallback` was used before, but in
//! headless Chromium its first callback came 300–900 ms after the element
//! had started presenting (7–22 frames by then), so it timed the callback,
//! not the picture.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};
use crate::scene::scene;
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// The therapist's page notes when "Admit all" is pressed.
const WATCH_PRESS: &str = r#"
window.__press = null;
if (!window.__pressHooked) {
  window.__pressHooked = true;
  document.addEventListener('click', (event) => {
    const b = event.target.closest && event.target.closest('button');
    if (b && b.textContent.trim() === 'Admit all') window.__press = Date.now();
  }, true);
}
"#;

/// A client's page notes when the first remote tile's video first has a
/// frame to show.
const WATCH_FRAME: &str = r#"
window.__frame = null;
const shown = () => {
  if (window.__frame === null) window.__frame = Date.now();
};
const watch = (v) => {
  if (v.__watched || v.closest('figure.self')) return;
  v.__watched = true;
  if (v.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) shown();
  else v.addEventListener('loadeddata', shown, { once: true });
};
const scan = () => document.querySelectorAll('#tiles video').forEach(watch);
scan();
if (!window.__frameObserver) {
  window.__frameObserver = new MutationObserver(scan);
  window.__frameObserver.observe(document.body, { childList: true, subtree: true });
}
"#;

const ROUNDS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by scripts/bench-join"]
async fn join_speed_from_admit_all_to_first_remote_frame() {
    let _one = ONE_AT_A_TIME.lock().await;
    let rounds = std::env::var("JOIN_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS);
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
    scene.therapist_opens_the_room(&therapist).await;
    let clients = [&ben, &cleo];
    let mut samples = Vec::new();
    for round in 0..rounds {
        for (i, client) in clients.iter().enumerate() {
            if round == 0 {
                scene.client_waits(client, i, true).await;
            } else {
                let path = format!("/join/{}", scene.tokens[i]);
                client.goto(&scene.app.url(&path)).await;
                client.wait_text("Connected to the video server", 20).await;
                client.click("//label[contains(., 'confidential')]").await;
                client.click_button("Join session").await;
                client.wait_text("will let you in shortly", 20).await;
            }
        }
        therapist.wait_text("Ben Okafor", 20).await;
        therapist.wait_text("Cleo Park", 20).await;
        // A client waits for some seconds in real life: whatever the page
        // prepares while waiting has had its time.
        tokio::time::sleep(Duration::from_secs(2)).await;
        for client in clients {
            client.js(WATCH_FRAME, json!([])).await;
        }
        therapist.js(WATCH_PRESS, json!([])).await;
        therapist.click_button("Admit all").await;
        let press = wait_number(&therapist, "window.__press").await;
        for (i, client) in clients.iter().enumerate() {
            let frame = wait_number(client, "window.__frame").await;
            let ms = frame - press;
            eprintln!("join-speed round {round} client {i}: {ms:.0} ms");
            samples.push(ms);
        }
        for client in clients {
            client
                .click("//*[@id='room']//button[normalize-space()='Leave']")
                .await;
            client.wait_text("You left the session", 10).await;
        }
        // The therapist's roster has let both go before the next round.
        for name in ["Ben Okafor", "Cleo Park"] {
            wait_gone(&therapist, name).await;
        }
    }
    samples.sort_by(f64::total_cmp);
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "BENCH-JOIN samples={} p50={:.0} p95={:.0} min={:.0} max={:.0} all={:?}",
        samples.len(),
        pick(0.5),
        pick(0.95),
        samples[0],
        samples[samples.len() - 1],
        samples.iter().map(|s| s.round() as i64).collect::<Vec<_>>()
    );
    for b in [therapist, ben, cleo] {
        b.quit().await;
    }
}

/// Polls a number the page sets, for up to 20 s.
async fn wait_number(browser: &Browser, expr: &str) -> f64 {
    for _ in 0..2000 {
        if let Value::Number(n) = browser.js(&format!("return {expr};"), json!([])).await {
            if let Some(n) = n.as_f64() {
                return n;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{expr} was never set");
}

async fn wait_gone(browser: &Browser, text: &str) {
    for _ in 0..200 {
        if !browser.text().await.contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{text} still shown");
}
