//! Screen sharing in Chromium: the shared screen reaches the other side as
//! a second video track, shown in its own tile (class `screen`), and goes
//! away when sharing stops. A client shares only once the therapist allows.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Backend, TestApp};
use crate::scene::{scene, tile_action};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// The screen tiles of a page, the size of the first, and the frames
/// decoded from the tracks those tiles show.
const SCREEN: &str = r#"
const done = arguments[arguments.length - 1];
const videos = [...document.querySelectorAll('#tiles figure.screen video')];
const ids = new Set(videos.flatMap((v) => v.srcObject ? v.srcObject.getVideoTracks().map((t) => t.id) : []));
const pc = window.regroup && window.regroup.pc;
if (!pc) { done({ tiles: videos.length, width: 0, frames: 0 }); return; }
pc.getStats().then((report) => {
  let frames = 0;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video' && ids.has(s.trackIdentifier)) frames += s.framesDecoded || 0;
  });
  done({ tiles: videos.length, width: videos.length ? videos[0].videoWidth : 0, frames });
}, () => done(null));
"#;

#[derive(Debug, Default)]
struct Screen {
    tiles: u64,
    width: u64,
    frames: u64,
}

async fn screen(browser: &Browser) -> Screen {
    let v: Value = browser.js_async(SCREEN).await;
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    Screen {
        tiles: n("tiles"),
        width: n("width"),
        frames: n("frames"),
    }
}

/// Waits until the page shows one screen tile with a picture whose frames
/// keep being decoded.
async fn sees_a_shared_screen(browser: &Browser, who: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let first = screen(browser).await;
        if first.tiles == 1 && first.width > 0 && first.frames > 0 {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let later = screen(browser).await;
            if later.tiles == 1 && later.frames > first.frames {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{who} never decoded a shared screen: {first:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn sees_no_screen(browser: &Browser, who: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = screen(browser).await;
        if now.tiles == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{who} still shows a screen tile: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_screen_arrives_as_its_own_tile_and_leaves_when_sharing_stops() {
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
    sees_no_screen(&ben, "Ben before any sharing").await;

    therapist.click_button("Share screen").await;
    // The button turns only once the browser handed over a screen track.
    therapist
        .find("//button[normalize-space()='Stop sharing']", 20)
        .await;
    sees_a_shared_screen(&ben, "Ben").await;
    ben.screenshot("room-screen-shared-client-desktop").await;

    therapist.click_button("Stop sharing").await;
    sees_no_screen(&ben, "Ben after the therapist stopped sharing").await;

    // Sharing again reuses the connection's screen slot.
    therapist.click_button("Share screen").await;
    sees_a_shared_screen(&ben, "Ben, second time").await;
    therapist.click_button("Stop sharing").await;
    sees_no_screen(&ben, "Ben after the second share").await;

    // A client has no share button until the therapist allows it.
    assert!(
        !ben.text().await.contains("Share screen"),
        "a client may not share unasked"
    );
    tile_action(&therapist, "Ben Okafor", "Allow screen sharing").await;
    ben.click_button("Share screen").await;
    sees_a_shared_screen(&therapist, "the therapist").await;
    ben.click_button("Stop sharing").await;
    sees_no_screen(&therapist, "the therapist after Ben stopped").await;

    for b in [therapist, ben] {
        b.quit().await;
    }
}
