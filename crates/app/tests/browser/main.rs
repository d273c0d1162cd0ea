//! Video rooms in a real browser: Debian's Chromium with a fake camera and
//! microphone, driven through chromedriver. Each test is a whole session:
//! pre-call page, waiting room, admission, media both ways, chat, controls.
//! The tests run one at a time (a lock), since three browsers already fill
//! two cores.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod webdriver;

use std::time::{Duration, Instant};

use regroup::store::SessionKind;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use helpers::{Backend, TestApp};
use webdriver::{Browser, Driver};

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A scheduled session with a signed-in therapist and their clients' links.
struct Scene {
    app: TestApp,
    session: String,
    therapist_cookie: String,
    /// One join token per client, in the order given.
    tokens: Vec<String>,
}

async fn scene(app: TestApp, kind: &str, clients: &[(&str, &str)]) -> Scene {
    let created = app.verified_therapist("ana@example.com").await;
    let account = created["id"].as_str().unwrap().to_string();
    let bearer = app.fresh_token("ana@example.com").await;
    let mut ids = Vec::new();
    for (name, email) in clients {
        let response = app
            .api
            .post(app.url("/api/v1/clients"))
            .bearer_auth(&bearer)
            .json(&json!({"name": name, "email": email}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let starts = (app.clock.now() + chrono::Duration::minutes(10)).to_rfc3339();
    let response = app
        .api
        .post(app.url("/api/v1/video-sessions"))
        .bearer_auth(&bearer)
        .json(
            &json!({"kind": kind, "starts_at": starts, "duration_minutes": 50,
                      "time_zone": "Europe/Berlin", "client_ids": ids}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let session = body["id"].as_str().unwrap().to_string();
    let tokens = clients
        .iter()
        .map(|(_, email)| app.mailed_token(email, "/join/"))
        .collect();
    let (therapist_cookie, _) =
        regroup::auth::session::start(&app.state, &account, SessionKind::Cookie)
            .await
            .unwrap();
    Scene {
        app,
        session,
        therapist_cookie,
        tokens,
    }
}

impl Scene {
    async fn therapist_opens_the_room(&self, browser: &Browser) {
        browser.goto(&self.app.url("/")).await;
        browser
            .add_cookie("regroup_session", &self.therapist_cookie)
            .await;
        browser
            .goto(&self.app.url(&format!("/sessions/{}/room", self.session)))
            .await;
        browser.wait_text("Connected to the video server", 20).await;
        browser.click_button("Join session").await;
        browser
            .find("//button[normalize-space()='End session']", 20)
            .await;
    }

    async fn client_waits(&self, browser: &Browser, index: usize, group: bool) {
        browser
            .goto(&self.app.url(&format!("/join/{}", self.tokens[index])))
            .await;
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
}

/// What a page's connection receives: per inbound track, frames decoded
/// (video) or packets received (audio), and the size of each remote tile.
#[derive(Debug, Default)]
struct Received {
    video: Vec<u64>,
    audio: Vec<u64>,
    widths: Vec<u64>,
    tcp: bool,
}

const STATS: &str = r#"
const done = arguments[arguments.length - 1];
const pc = window.regroup && window.regroup.pc;
if (!pc) { done(null); return; }
pc.getStats().then((report) => {
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  const video = [], audio = [];
  let tcp = false;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') video.push(s.framesDecoded || 0);
    if (s.type === 'inbound-rtp' && s.kind === 'audio') audio.push(s.packetsReceived || 0);
    if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated) {
      const local = byId.get(s.localCandidateId);
      if (local && local.protocol === 'tcp') tcp = true;
    }
  });
  const widths = [...document.querySelectorAll('#tiles figure:not(.self):not(.screen) video')].map((v) => v.videoWidth);
  done({ video, audio, widths, tcp });
}, () => done(null));
"#;

async fn received(browser: &Browser) -> Received {
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
    }
}

/// Waits until the page decodes video from `peers` others (frames rising,
/// tiles with a size) and receives their audio. Returns the last figures.
async fn decodes_from(browser: &Browser, who: &str, peers: usize) -> Received {
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
async fn server_cpu_over(span: Duration) -> f64 {
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

async fn join_status(app: &TestApp, token: &str) -> StatusCode {
    app.browser
        .get(app.url(&format!("/join/{token}")))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_session_with_waiting_room_media_chat_remove_and_end() {
    let _one = ONE_AT_A_TIME.lock().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let scene = scene(
        app,
        "group",
        &[
            ("Ben Okafor", "ben@example.com"),
            ("Cleo Park", "cleo@example.com"),
        ],
    )
    .await;
    let (therapist, ben, cleo) = (
        driver.browser().await,
        driver.browser().await,
        driver.browser().await,
    );

    scene.client_waits(&ben, 0, true).await;
    scene.client_waits(&cleo, 1, true).await;
    scene.therapist_opens_the_room(&therapist).await;

    // The therapist sees both names they entered and lets everyone in.
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.wait_text("Cleo Park", 20).await;
    assert!(
        !ben.text().await.contains("Cleo"),
        "a waiting client never sees the waiting list"
    );
    therapist.click_button("Admit all").await;

    for (browser, who) in [(&therapist, "therapist"), (&ben, "Ben"), (&cleo, "Cleo")] {
        decodes_from(browser, who, 2).await;
    }
    let cpu = server_cpu_over(Duration::from_secs(5)).await;
    eprintln!("server CPU with 3 people in the room: {cpu:.0}% of one core (web app + media engine, debug build)");
    // Other clients see a first name; the therapist sees the full name.
    ben.wait_text("Cleo", 10).await;
    assert!(!ben.text().await.contains("Cleo Park"));

    // Chat reaches everyone in the room.
    cleo.type_into("//input[@id='chat-input']", "Hello from Cleo")
        .await;
    cleo.click_button("Send").await;
    ben.wait_text("Hello from Cleo", 10).await;
    therapist.wait_text("Hello from Cleo", 10).await;

    // Mute is enforced by the server and told to the client.
    therapist
        .click("//figure[.//span[@class='name' and normalize-space()='Cleo Park']]//button[normalize-space()='Mute']")
        .await;
    cleo.wait_text("Unmute me", 10).await;
    therapist.wait_text("muted", 10).await;

    // Remove: Ben is out, and his link no longer opens the session.
    therapist
        .click("//figure[.//span[@class='name' and normalize-space()='Ben Okafor']]//button[normalize-space()='Remove']")
        .await;
    ben.wait_text("removed you", 10).await;
    assert_eq!(
        join_status(&scene.app, &scene.tokens[0]).await,
        StatusCode::GONE
    );
    // The others keep their media: Cleo still decodes the therapist.
    decodes_from(&cleo, "Cleo after the removal", 1).await;

    // End session closes the room for everyone.
    therapist.click_button("End session").await;
    cleo.wait_text("The session has ended", 10).await;
    therapist.wait_text("The session has ended", 10).await;
    assert_eq!(
        join_status(&scene.app, &scene.tokens[1]).await,
        StatusCode::GONE
    );

    for b in [therapist, ben, cleo] {
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_to_one_session_admits_shows_video_both_ways_and_ends() {
    let _one = ONE_AT_A_TIME.lock().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let scene = scene(app, "individual", &[("Ben Okafor", "ben@example.com")]).await;
    let (therapist, ben) = (driver.browser().await, driver.browser().await);

    // The pre-call check gets media through, over UDP.
    ben.goto(&scene.app.url(&format!("/join/{}", scene.tokens[0])))
        .await;
    ben.wait_text("Video and sound get through your network", 20)
        .await;
    scene.therapist_opens_the_room(&therapist).await;
    scene.client_waits(&ben, 0, false).await;
    assert!(
        !ben.text().await.contains("confidential"),
        "no group acknowledgement in a 1:1 session"
    );
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.click_button("Admit").await;
    decodes_from(&therapist, "therapist", 1).await;
    decodes_from(&ben, "Ben", 1).await;

    therapist
        .type_into("//input[@id='chat-input']", "Welcome, Ben")
        .await;
    therapist.click_button("Send").await;
    ben.wait_text("Welcome, Ben", 10).await;

    therapist.click_button("End session").await;
    ben.wait_text("The session has ended", 10).await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_flows_over_ice_tcp_when_only_the_tcp_candidate_is_announced() {
    let _one = ONE_AT_A_TIME.lock().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.media.tcp_only = true).await;
    let scene = scene(app, "individual", &[("Ben Okafor", "ben@example.com")]).await;
    let (therapist, ben) = (driver.browser().await, driver.browser().await);

    // The pre-call check finds that media gets through, and over TCP.
    ben.goto(&scene.app.url(&format!("/join/{}", scene.tokens[0])))
        .await;
    ben.wait_text("takes a slower one", 20).await;
    scene.therapist_opens_the_room(&therapist).await;
    scene.client_waits(&ben, 0, false).await;
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.click_button("Admit").await;
    let seen = decodes_from(&ben, "Ben over TCP", 1).await;
    assert!(seen.tcp, "the selected candidate pair is TCP");
    let seen = decodes_from(&therapist, "therapist over TCP", 1).await;
    assert!(seen.tcp, "the selected candidate pair is TCP");
    for b in [therapist, ben] {
        b.quit().await;
    }
}
