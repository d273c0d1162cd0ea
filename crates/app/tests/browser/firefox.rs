//! The room in Firefox ESR, next to Chromium: a client in Firefox and the
//! therapist in Chromium hold a whole 1:1 session, and a therapist in
//! Firefox runs a group with a Firefox and a Chromium client. Media crosses
//! both ways between the two browsers' WebRTC stacks (simulcast included).

use std::net::{IpAddr, SocketAddr, UdpSocket};

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::scene::{decodes_from, join_status, scene, tile_button};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// This machine's address on its network. Firefox never pairs a loopback
/// candidate (its `ice.loopback` pref notwithstanding, it gathers none of its
/// own), so a media server on 127.0.0.1 is out of its reach: the Firefox
/// tests put the server on the network address, as a real deployment is.
fn network_ip() -> IpAddr {
    // Connecting a UDP socket sends nothing; it only picks the outgoing
    // interface for a documentation address (RFC 5737).
    let socket = UdpSocket::bind("0.0.0.0:0").expect("a UDP socket");
    socket
        .connect("203.0.113.1:9")
        .ok()
        .and_then(|()| socket.local_addr().ok())
        .map(|a| a.ip())
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        .unwrap_or_else(|| panic!("no network address: Firefox needs a non-loopback IPv4 address to reach the media server"))
}

/// A test app whose media engine listens on the network address.
async fn app_reachable_from_firefox() -> TestApp {
    let ip = network_ip();
    TestApp::spawn_with(Backend::Sqlite, |config| {
        config.media.udp = SocketAddr::new(ip, 0);
        config.media.tcp = Some(SocketAddr::new(ip, 0));
    })
    .await
}

/// Guards against a driver quietly starting the wrong browser.
async fn is_firefox(browser: &Browser) -> bool {
    let agent = browser
        .js("return navigator.userAgent", json!([]))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    agent.contains("Firefox/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_in_firefox_and_a_therapist_in_chromium_hold_a_session() {
    let _one = ONE_AT_A_TIME.lock().await;
    let firefox = Driver::firefox().await;
    let chromium = Driver::start().await;
    let app = app_reachable_from_firefox().await;
    let (therapist, ben) = (chromium.browser().await, firefox.browser().await);
    let scene = scene(
        app,
        &therapist,
        "individual",
        &[("Ben Okafor", "ben@example.com")],
    )
    .await;

    scene.therapist_opens_the_room(&therapist).await;
    scene.client_waits(&ben, 0, false).await;
    assert!(is_firefox(&ben).await, "the client's browser is Firefox");
    assert!(!is_firefox(&therapist).await);
    let speaker = ben
        .js(
            "const s = document.getElementById('speaker-select'); return s.hidden || s.options.length > 0",
            json!([]),
        )
        .await;
    assert_eq!(speaker, json!(true), "no empty speaker picker in Firefox");
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.click_button("Admit").await;
    decodes_from(&ben, "Ben (Firefox) from Chromium", 1).await;
    therapist
        .type_into("//input[@id='chat-input']", "Welcome, Ben")
        .await;
    therapist.click_button("Send").await;
    ben.wait_text("Welcome, Ben", 10).await;
    ben.type_into("//input[@id='chat-input']", "Hello from Firefox")
        .await;
    ben.click_button("Send").await;
    therapist.wait_text("Hello from Firefox", 10).await;

    // A control from Chromium reaches the page in Firefox.
    therapist.click(&tile_button("Ben Okafor", "Mute")).await;
    ben.wait_text("Unmute me", 10).await;

    therapist.click_button("End session").await;
    ben.wait_text("The session has ended", 10).await;
    therapist.wait_text("The session has ended", 10).await;
    assert_eq!(
        join_status(&scene.app, &scene.tokens[0]).await,
        reqwest::StatusCode::GONE
    );
    for b in [therapist, ben] {
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_therapist_in_firefox_runs_a_group_with_firefox_and_chromium_clients() {
    let _one = ONE_AT_A_TIME.lock().await;
    let firefox = Driver::firefox().await;
    let chromium = Driver::start().await;
    let app = app_reachable_from_firefox().await;
    let (therapist, ben, cleo) = (
        firefox.browser().await,
        firefox.browser().await,
        chromium.browser().await,
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
    assert!(is_firefox(&therapist).await && is_firefox(&ben).await);

    scene.therapist_opens_the_room(&therapist).await;
    scene.client_waits(&ben, 0, true).await;
    scene.client_waits(&cleo, 1, true).await;
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.wait_text("Cleo Park", 20).await;
    therapist.click_button("Admit all").await;
    // Firefox to Firefox, Firefox to Chromium and back, each with simulcast.
    for (browser, who) in [
        (&therapist, "therapist (Firefox)"),
        (&ben, "Ben (Firefox)"),
        (&cleo, "Cleo (Chromium)"),
    ] {
        decodes_from(browser, who, 2).await;
    }

    cleo.type_into("//input[@id='chat-input']", "Hello from Chromium")
        .await;
    cleo.click_button("Send").await;
    therapist.wait_text("Hello from Chromium", 10).await;
    ben.wait_text("Hello from Chromium", 10).await;

    therapist.click(&tile_button("Cleo Park", "Mute")).await;
    cleo.wait_text("Unmute me", 10).await;
    therapist.click(&tile_button("Ben Okafor", "Remove")).await;
    ben.wait_text("removed you", 10).await;

    therapist.click_button("End session").await;
    cleo.wait_text("The session has ended", 10).await;
    therapist.wait_text("The session has ended", 10).await;
    for b in [therapist, ben, cleo] {
        b.quit().await;
    }
}
