//! Losing the connection mid-session: an ICE restart keeps the same media
//! participant, and a dropped signaling socket comes back into the room
//! without a second admission, for the client and the therapist alike (who
//! keeps every control).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::scene::{decodes_from, ends_the_session, scene, tile_action};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

async fn trace(browser: &Browser) -> Vec<String> {
    let v = browser.js("return window.regroup.trace", json!([])).await;
    serde_json::from_value(v).unwrap_or_default()
}

/// The connection's own and the server's ICE ufrag, and whether ICE and
/// signaling are settled.
async fn ice(browser: &Browser) -> (String, String, bool) {
    let v = browser
        .js(
            r"const pc = window.regroup.pc;
              const ufrag = (d) => ((d && d.sdp.match(/a=ice-ufrag:(\S+)/)) || [])[1] || '';
              if (!pc) return ['', '', false];
              return [ufrag(pc.localDescription), ufrag(pc.remoteDescription),
                pc.signalingState === 'stable' && ['connected', 'completed'].includes(pc.iceConnectionState)];",
            json!([]),
        )
        .await;
    serde_json::from_value(v).unwrap_or_default()
}

/// The ids of the remote tracks a page shows: new ones mean the sender
/// started a fresh media connection.
async fn shown_tracks(browser: &Browser) -> String {
    let v = browser
        .js(
            "return [...document.querySelectorAll('#tiles figure:not(.self) video')].map((v) => v.dataset.tracks || '').join('|')",
            json!([]),
        )
        .await;
    v.as_str().unwrap_or_default().to_string()
}

/// Drops the page's signaling socket and waits for the reconnect's
/// `welcome`; returns the messages that came after the drop.
async fn drop_socket_and_return(browser: &Browser, who: &str) -> Vec<String> {
    let before = trace(browser).await.len();
    browser.js("window.regroup.dropSignal()", json!([])).await;
    // The page says so over the stage while it finds its way back.
    browser.wait_text("Reconnecting…", 5).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let after: Vec<String> = trace(browser).await.split_off(before);
        let overlay_gone = browser
            .js(
                "return document.getElementById('reconnecting').hidden",
                json!([]),
            )
            .await
            == json!(true);
        if after.iter().any(|t| t == "welcome")
            && after.iter().any(|t| t == "media_answer")
            && overlay_gone
        {
            return after;
        }
        assert!(
            Instant::now() < deadline,
            "{who} did not come back after the socket dropped: {after:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_restart_or_a_dropped_socket_keeps_everyone_in_the_room() {
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

    // (a) ICE restart: new credentials on both ends, same tracks, media on.
    let (local, remote, _) = ice(&ben).await;
    let bens_tracks = shown_tracks(&therapist).await;
    ben.js("window.regroup.restartIce()", json!([])).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (l, r, settled) = ice(&ben).await;
        if settled && l != local && r != remote && !l.is_empty() && !r.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the ICE restart did not complete: ufrags {local}/{remote} -> {l}/{r}, settled {settled}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    decodes_from(&ben, "Ben after the ICE restart", 1).await;
    decodes_from(&therapist, "therapist after Ben's ICE restart", 1).await;
    assert_eq!(
        shown_tracks(&therapist).await,
        bens_tracks,
        "an ICE restart keeps the engine participant and its tracks"
    );

    // (b) Ben's socket drops: he is back in the room, not in the waiting room.
    let after = drop_socket_and_return(&ben, "Ben").await;
    assert!(
        !after.iter().any(|t| t == "waiting"),
        "a returning client skips the waiting room: {after:?}"
    );
    decodes_from(&ben, "Ben after his reconnect", 1).await;
    decodes_from(&therapist, "therapist after Ben's reconnect", 1).await;
    assert_ne!(
        shown_tracks(&therapist).await,
        bens_tracks,
        "a reconnect starts a fresh media connection"
    );
    assert!(!ben.text().await.contains("will let you in shortly"));

    // (c) The therapist's socket drops: back in the room with every control.
    drop_socket_and_return(&therapist, "the therapist").await;
    decodes_from(&therapist, "therapist after their reconnect", 1).await;
    decodes_from(&ben, "Ben after the therapist's reconnect", 1).await;
    tile_action(&therapist, "Ben Okafor", "Mute").await;
    ben.wait_text("Unmute me", 10).await;
    ends_the_session(&therapist).await;
    ben.wait_text("The session has ended", 10).await;

    for b in [therapist, ben] {
        b.quit().await;
    }
}
