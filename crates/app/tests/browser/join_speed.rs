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
  if (window.__trace) window.__trace.push([Date.now(), `tile with a video, readyState ${v.readyState}`]);
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

/// With `JOIN_TRACE` set, a client's page also notes: each socket message
/// as it is handed to the page, each long animation frame (over 50 ms: its
/// scripts, and its style, layout and paint), and its video receive figures
/// as they change (packets, frames received and decoded, jitter buffer
/// delay). Printed per join relative to the press, to see where a join's
/// time goes; the press is printed in Unix ms too, to line it up with a
/// packet capture. Joins from the second round on have the figures (the
/// peer connection is caught as the page makes it, see `KEEP_PC`).
const TRACE: &str = r#"
window.__trace = [];
const note = (at, what) => window.__trace.push([at, what]);
if (!window.__traceHooked) {
  window.__traceHooked = true;
  const dispatch = EventTarget.prototype.dispatchEvent;
  EventTarget.prototype.dispatchEvent = function (event) {
    if (event.type === 'message' && event.detail && event.detail.type) note(Date.now(), event.detail.type);
    return dispatch.call(this, event);
  };
  const at = (t) => Math.round(performance.timeOrigin + t);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const layout = e.styleAndLayoutStart ? Math.round(e.startTime + e.duration - e.styleAndLayoutStart) : 0;
      const scripts = e.scripts.map((s) => `${s.invoker || s.invokerType} ${Math.round(s.duration)}`).join('; ');
      note(at(e.startTime), `long frame ${Math.round(e.duration)} ms (style, layout, paint ${layout}) [${scripts}]`);
    }
  }).observe({ type: 'long-animation-frame' });
}
const pc = window.__lastPc;
if (pc) {
  (async () => {
    const seen = new Map();
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      for (const s of (await pc.getStats()).values()) {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') continue;
        const jb = Math.round((1000 * (s.jitterBufferDelay || 0)) / (s.jitterBufferEmittedCount || 1));
        const k = `video ${s.mid}: packets ${s.packetsReceived}, frames ${s.framesReceived}, decoded ${s.framesDecoded}, jitter buffer ${jb} ms`;
        if (seen.get(s.mid) !== k) {
          seen.set(s.mid, k);
          note(Date.now(), k);
        }
      }
      await new Promise((ok) => setTimeout(ok, 5));
    }
  })();
}
"#;

/// Run on the invitation page before the page makes its connections: keeps
/// the last peer connection made, for `TRACE`.
const KEEP_PC: &str = r#"
const Native = window.RTCPeerConnection;
window.RTCPeerConnection = class extends Native {
  constructor(...args) {
    super(...args);
    window.__lastPc = this;
  }
};
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
    let trace = std::env::var_os("JOIN_TRACE").is_some();
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
                if trace {
                    client.js(KEEP_PC, json!([])).await;
                }
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
            if trace {
                client.js(TRACE, json!([])).await;
            }
        }
        therapist.js(WATCH_PRESS, json!([])).await;
        therapist.click_button("Admit all").await;
        let press = wait_number(&therapist, "window.__press").await;
        if trace {
            eprintln!("join-speed round {round}: pressed at {press:.0} (Unix ms)");
        }
        for (i, client) in clients.iter().enumerate() {
            let frame = wait_number(client, "window.__frame").await;
            let ms = frame - press;
            eprintln!("join-speed round {round} client {i}: {ms:.0} ms");
            if trace {
                eprintln!("    {ms:+5.0} first remote frame");
                print_trace(client, press).await;
            }
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

/// The page's trace, from the press on, once the frame is in (a little
/// later, so the frame that showed it is listed too).
async fn print_trace(client: &Browser, press: f64) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Value::Array(entries) = client.js("return window.__trace;", json!([])).await else {
        return;
    };
    for entry in entries {
        if let (Some(at), Some(what)) = (entry[0].as_f64(), entry[1].as_str()) {
            if at >= press - 50.0 {
                eprintln!("    {:+5.0} {what}", at - press);
            }
        }
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
