//! What every browser test builds on: a session a therapist scheduled
//! through the pages, the steps into the room, and what a page's connection
//! receives.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::person;
use crate::webdriver::Browser;

pub const THERAPIST: (&str, &str) = ("Ana Ruiz", "ana@example.com");

/// A scheduled session: the therapist signed up, added the clients and
/// scheduled it, all through the pages, in their own browser.
pub struct Scene {
    pub app: TestApp,
    /// One join token per client, in the order given: for checking that a
    /// link stops working, never for getting in.
    pub tokens: Vec<String>,
    clients: Vec<(String, String)>,
}

pub async fn scene(
    app: TestApp,
    therapist: &Browser,
    kind: &str,
    clients: &[(&str, &str)],
) -> Scene {
    let (name, email) = THERAPIST;
    person::signs_up_and_in(&app, therapist, name, email).await;
    for (name, email) in clients {
        person::adds_a_client(therapist, name, email).await;
    }
    let names: Vec<&str> = clients.iter().map(|(name, _)| *name).collect();
    person::schedules(therapist, kind, &names).await;
    let tokens = clients
        .iter()
        .map(|(_, email)| app.mailed_token(email, "/join/"))
        .collect();
    Scene {
        app,
        tokens,
        clients: clients
            .iter()
            .map(|(n, e)| (n.to_string(), e.to_string()))
            .collect(),
    }
}

impl Scene {
    /// From the session's page (where scheduling left the therapist, or
    /// through Sessions): Open the room, then Join session.
    pub async fn therapist_opens_the_room(&self, browser: &Browser) {
        if browser
            .js("return !document.evaluate(\"//a[normalize-space()='Open the room']\", document, null, 9, null).singleNodeValue", json!([]))
            .await
            == json!(true)
        {
            browser.click_link("Sessions").await;
            browser.click("(//main//li/a)[1]").await;
        }
        browser.click_link("Open the room").await;
        browser.wait_text("Connected to the video server", 20).await;
        browser.click_button("Join session").await;
        browser
            .find("//button[@aria-label='End session']", 20)
            .await;
    }

    /// The client opens the invitation email and follows its link to the
    /// pre-call page.
    pub async fn client_opens_the_invitation(&self, browser: &Browser, index: usize) {
        let email = &self.clients[index].1;
        person::follow_mailed_link(&self.app, browser, email, "/join/").await;
    }

    pub async fn client_waits(&self, browser: &Browser, index: usize, group: bool) {
        self.client_opens_the_invitation(browser, index).await;
        browser.wait_text("Connected to the video server", 20).await;
        if group {
            // The acknowledgement is required: without it, no waiting room.
            browser.click_button("Join session").await;
            browser.wait_text("keep the group confidential", 5).await;
            browser.click("//label[contains(., 'confidential')]").await;
        }
        browser.click_button("Join session").await;
        browser.wait_text("will let you in shortly", 20).await;
    }

    /// A 1:1 session up to media both ways: the therapist opens the room,
    /// the client waits and is admitted.
    pub async fn one_to_one(&self, therapist: &Browser, client: &Browser) {
        self.therapist_opens_the_room(therapist).await;
        self.client_waits(client, 0, false).await;
        therapist.wait_text("Ben Okafor", 20).await;
        receives_nothing_while_waiting(client).await;
        therapist.click_button("Admit").await;
        decodes_from(therapist, "therapist", 1).await;
        decodes_from(client, "the client", 1).await;
    }
}

/// A waiting client's page has the room's tracks negotiated (so admission
/// needs no offer), yet not one packet of them arrives and no one's tile is
/// shown: the engine holds the connection until admission.
pub async fn receives_nothing_while_waiting(client: &Browser) {
    const NEGOTIATED: &str = "const pc = window.regroup.pc; return !!pc && pc.getTransceivers().some((t) => t.receiver.track.kind === 'video' && t.currentDirection === 'recvonly');";
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.js(NEGOTIATED, json!([])).await != json!(true) {
        assert!(
            Instant::now() < deadline,
            "the room's video was never negotiated with the waiting client"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time enough for media to arrive, if any were sent.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = received(client).await;
    assert_eq!(
        (seen.packets, seen.widths.len()),
        (0, 0),
        "a waiting client receives no packet and sees no one's tile"
    );
}

/// The XPath of a person's tile, by the name on it.
pub fn tile(name: &str) -> String {
    format!("//figure[.//span[@class='name' and normalize-space()='{name}']]")
}

/// Chooses `action` ("Mute", "Remove", ...) from the "More" menu on a
/// person's tile, as a person does: open the menu, pick the item (its
/// accessible name names the person, "Mute: Ben Okafor").
pub async fn tile_action(browser: &Browser, name: &str, action: &str) {
    let tile = tile(name);
    browser
        .click(&format!("{tile}//button[@aria-label='More: {name}']"))
        .await;
    browser
        .click(&format!(
            "{tile}//*[@role='menu']//button[@role='menuitem' and @aria-label='{action}: {name}']"
        ))
        .await;
}

/// Opens the chat panel from the toolbar (unless it is open) and sends `text`.
pub async fn sends_chat(browser: &Browser, text: &str) {
    let open = browser
        .js(
            "return document.getElementById('toggle-chat').getAttribute('aria-expanded') === 'true'",
            json!([]),
        )
        .await;
    if open != json!(true) {
        browser.click_button("Chat").await;
    }
    browser.fill("Message", text).await;
    browser.click_button("Send").await;
}

/// End session, then the confirmation: "End for everyone".
pub async fn ends_the_session(browser: &Browser) {
    browser.click_button("End session").await;
    browser.wait_text("End the session for everyone?", 10).await;
    browser.click_button("End for everyone").await;
}

/// What a page's connection receives: per inbound track, frames decoded
/// (video) or packets received (audio), and the size of each remote tile.
#[derive(Debug, Default)]
pub struct Received {
    pub video: Vec<u64>,
    pub audio: Vec<u64>,
    pub widths: Vec<u64>,
    pub tcp: bool,
    /// Every RTP packet received, of any kind.
    pub packets: u64,
}

const STATS: &str = r#"
const done = arguments[arguments.length - 1];
const pc = window.regroup && window.regroup.pc;
if (!pc) { done(null); return; }
pc.getStats().then((report) => {
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  const video = [], audio = [];
  let tcp = false, packets = 0;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp') packets += s.packetsReceived || 0;
    if (s.type === 'inbound-rtp' && s.kind === 'video') video.push(s.framesDecoded || 0);
    if (s.type === 'inbound-rtp' && s.kind === 'audio') audio.push(s.packetsReceived || 0);
    if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated) {
      const local = byId.get(s.localCandidateId);
      if (local && local.protocol === 'tcp') tcp = true;
    }
  });
  const widths = [...document.querySelectorAll('#tiles figure:not(.self):not(.screen) video')].map((v) => v.videoWidth);
  done({ video, audio, widths, tcp, packets });
}, () => done(null));
"#;

pub async fn received(browser: &Browser) -> Received {
    let value = browser.js_async(STATS).await;
    if value.is_null() {
        return Received::default();
    }
    let list = |key: &str| -> Vec<u64> {
        value[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    };
    Received {
        video: list("video"),
        audio: list("audio"),
        widths: list("widths"),
        tcp: value["tcp"].as_bool().unwrap_or(false),
        packets: value["packets"].as_u64().unwrap_or(0),
    }
}

/// Waits until the page decodes video from `peers` others (frames rising,
/// tiles with a size) and receives their audio. Returns the last figures.
pub async fn decodes_from(browser: &Browser, who: &str, peers: usize) -> Received {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let first = received(browser).await;
        let decoding = first.video.iter().filter(|f| **f > 0).count() >= peers
            && first.widths.iter().filter(|w| **w > 0).count() >= peers
            && first.audio.iter().filter(|p| **p > 0).count() >= peers;
        if decoding {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let later = received(browser).await;
            let rising = later
                .video
                .iter()
                .zip(first.video.iter())
                .filter(|(after, before)| after > before)
                .count();
            let audio_rising = later
                .audio
                .iter()
                .zip(first.audio.iter())
                .filter(|(after, before)| after > before)
                .count();
            if rising >= peers && audio_rising >= peers {
                return later;
            }
        }
        if Instant::now() > deadline {
            let state = browser
                .js("const pc = window.regroup.pc; return window.regroup.trace.join(' ') + ' | ' + (pc ? pc.iceConnectionState + ' ' + pc.signalingState + ' ' + pc.getTransceivers().map((t) => t.mid + ':' + t.direction + ':' + t.currentDirection).join(',') : 'no pc')", json!([]))
                .await;
            panic!("{who} never decoded media from {peers} others: {first:?}; {state}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// This process's CPU use (the server runs in it; the browsers do not) over
/// `span`, in percent of one core. A rough figure printed for the record,
/// never asserted.
pub async fn server_cpu_over(span: Duration) -> f64 {
    fn ticks() -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let after = stat.rsplit(')').next()?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }
    let before = ticks().unwrap_or(0);
    tokio::time::sleep(span).await;
    let after = ticks().unwrap_or(0);
    // Linux reports CPU time in clock ticks of 1/100 s.
    (after.saturating_sub(before)) as f64 / span.as_secs_f64()
}

pub async fn join_status(app: &TestApp, token: &str) -> StatusCode {
    app.browser
        .get(app.url(&format!("/join/{token}")))
        .send()
        .await
        .unwrap()
        .status()
}
