//! The room's look and controls (docs/room-ui.md): the full-window stage,
//! the picture-in-picture self-view of a 1:1 session, icon buttons found by
//! their accessible names, panels, the per-tile menu, the connection
//! indicator, the End-session confirmation, a raised hand in a group, and
//! the phone layout. Screenshots go to `REGROUP_SCREENSHOTS` when set.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};
use crate::scene::{decodes_from, ends_the_session, scene, tile, tile_action};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// A tile's box on the page, by the name on it ("You" for the self-view).
async fn tile_box(browser: &Browser, name: &str) -> (f64, f64, f64, f64) {
    let value = browser
        .js(
            "const f = [...document.querySelectorAll('#tiles figure')].find((f) => f.querySelector('.name').textContent === arguments[0]); \
             if (!f) return null; const r = f.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]",
            json!([name]),
        )
        .await;
    let n = |i: usize| {
        value[i]
            .as_f64()
            .unwrap_or_else(|| panic!("no tile for {name}"))
    };
    (n(0), n(1), n(2), n(3))
}

async fn attribute(browser: &Browser, xpath: &str, name: &str) -> String {
    browser
        .js(
            "const e = document.evaluate(arguments[0], document, null, 9, null).singleNodeValue; return e ? e.getAttribute(arguments[1]) : null",
            json!([xpath, name]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn wait_until(browser: &Browser, what: &str, script: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let value = browser.js(script, json!([])).await;
        if value != Value::Null && value != json!(false) {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Opens a side panel from its toolbar button, unless it is open already
/// (the participants panel opens by itself when someone arrives).
async fn opens(browser: &Browser, button: &str) {
    let xpath = format!("//button[@aria-label='{button}']");
    if attribute(browser, &xpath, "aria-expanded").await != "true" {
        browser.click_button(button).await;
    }
    browser
        .find(&format!("{xpath}[@aria-expanded='true']"), 10)
        .await;
}

/// The connection indicator on a remote tile says good / fair / poor and
/// the figures behind it, e.g. "Connection good: RTT 1 ms, loss 0.0%, 360p".
pub(crate) async fn sees_the_connection_indicator(browser: &Browser, name: &str) -> String {
    let xpath = format!(
        "{}//*[@role='img' and starts-with(@aria-label, 'Connection ')]",
        tile(name)
    );
    browser.find(&xpath, 20).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let label = attribute(browser, &xpath, "aria-label").await;
        let rest = label.strip_prefix("Connection ").unwrap_or_default();
        let (level, detail) = rest.split_once(": ").unwrap_or_default();
        let figures_in =
            detail.starts_with("RTT ") && detail.contains(" ms, loss ") && detail.ends_with('p');
        if figures_in {
            assert!(
                ["good", "fair", "poor"].contains(&level),
                "a level: {label}"
            );
            return label;
        }
        assert!(
            Instant::now() < deadline,
            "the indicator never had RTT, loss and the layer: {label}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// At a phone's size: no sideways scrolling, the toolbar inside the
/// window, tiles in one column. Screenshot, then the window size comes back.
pub(crate) async fn fits_a_phone(browser: &Browser, shot: &str) {
    browser.set_window(390, 844).await;
    // A busy page lays the stage out again a while after the resize (its
    // tiles glide to their new places): it is measured until it has settled
    // into one column, for up to 20 s, and then judged.
    let deadline = Instant::now() + Duration::from_secs(20);
    let fit = loop {
        let fit = browser
            .js(
                "const d = document.documentElement; const bar = document.querySelector('.toolbar').getBoundingClientRect(); \
                 const lefts = new Set([...document.querySelectorAll('#tiles figure:not(.pip)')].map((f) => Math.round(f.getBoundingClientRect().left))); \
                 return { scroll: d.scrollWidth, client: d.clientWidth, inner: innerWidth, height: innerHeight, \
                          bar: [bar.left, bar.top, bar.right, bar.bottom], columns: lefts.size, \
                          buttons: [...document.querySelectorAll('.toolbar button:not([hidden])')].every((b) => { const r = b.getBoundingClientRect(); return r.right <= innerWidth && r.bottom <= innerHeight && r.left >= 0; }) }",
                json!([]),
            )
            .await;
        if fit["columns"] == json!(1) || Instant::now() > deadline {
            break fit;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        browser.settle().await;
    };
    eprintln!("{shot}: {fit}");
    // (Headless Firefox keeps windows at least 500 px wide: still narrower
    // than the 600 px where the stage turns to one column.)
    assert!(
        fit["inner"].as_f64().unwrap() <= 500.0,
        "the window is phone-sized: {fit}"
    );
    assert!(
        fit["scroll"].as_f64().unwrap() <= fit["client"].as_f64().unwrap(),
        "no horizontal scroll on a phone: {fit}"
    );
    let bar = &fit["bar"];
    assert!(
        bar[0].as_f64().unwrap() >= 0.0
            && bar[1].as_f64().unwrap() >= 0.0
            && bar[3].as_f64().unwrap() <= fit["height"].as_f64().unwrap() + 0.5,
        "the toolbar is inside the window: {fit}"
    );
    assert_eq!(
        fit["buttons"],
        json!(true),
        "every toolbar button is inside the window: {fit}"
    );
    assert_eq!(
        fit["columns"],
        json!(1),
        "one column of tiles on a phone: {fit}"
    );
    browser.screenshot(shot).await;
    browser.set_window(1200, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_to_one_room_fills_the_window_with_a_movable_self_view_and_confirms_the_end() {
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

    // The stage is the whole window: no site header or footer.
    let header = therapist
        .js("const h = document.querySelector('header.site'); return h.getBoundingClientRect().height", json!([]))
        .await;
    assert_eq!(header.as_f64(), Some(0.0), "no site header in the room");

    // The other person is large; the self-view a small picture in a corner.
    let (ox, _, ow, _) = tile_box(&therapist, "Ben Okafor").await;
    let (sx, _, sw, sh) = tile_box(&therapist, "You").await;
    assert!(
        sw * 2.5 < ow,
        "the self-view ({sw}) is much smaller than Ben ({ow})"
    );
    assert!((sw / sh - 16.0 / 9.0).abs() < 0.05, "tiles keep 16:9");
    assert!(sx > ox + ow / 2.0, "the self-view starts bottom right");
    // From the keyboard: the move button takes it to the next corner.
    therapist
        .click_button("Move my picture (now bottom right)")
        .await;
    // (It glides there: a moment for the move.)
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (sx2, _, _, _) = tile_box(&therapist, "You").await;
    assert!(
        sx2 < ox + ow / 2.0,
        "the self-view moved to the left: {sx} -> {sx2}"
    );
    let moved = attribute(
        &therapist,
        "//figure[contains(@class, 'self')]//button[contains(@class, 'pip-move')]",
        "aria-label",
    )
    .await;
    assert_eq!(moved, "Move my picture (now bottom left)");

    // Both see how the other's connection is doing.
    let label = sees_the_connection_indicator(&therapist, "Ben Okafor").await;
    eprintln!("the therapist's indicator for Ben: {label}");
    sees_the_connection_indicator(&ben, "Ana Ruiz").await;

    // Icon buttons by their accessible names; Space on the stage mutes.
    therapist.press_on("//div[@id='stage']", " ").await;
    therapist
        .find(
            "//button[@aria-label='Unmute me' and @aria-pressed='true']",
            10,
        )
        .await;
    therapist.press_on("//div[@id='stage']", " ").await;
    therapist
        .find(
            "//button[@aria-label='Mute me' and @aria-pressed='false']",
            10,
        )
        .await;
    // Tab from the stage reaches Ben's connection indicator first: focus
    // shows, and so do the figures.
    therapist.press_on("//div[@id='stage']", "\u{E004}").await;
    let focused = therapist
        .js(
            "return document.activeElement.getAttribute('aria-label') || ''",
            json!([]),
        )
        .await;
    assert!(
        focused
            .as_str()
            .unwrap_or_default()
            .starts_with("Connection "),
        "Tab from the stage goes to the first tile's indicator: {focused}"
    );
    therapist
        .screenshot("room-one-to-one-therapist-keyboard")
        .await;
    ben.click_button("Stop my camera").await;
    therapist.wait_text("camera off", 10).await;
    ben.click_button("Start my camera").await;

    // Panels open from the toolbar and say so; one at a time.
    opens(&therapist, "Participants").await;
    therapist
        .find(
            "//aside[@id='people-panel']//h3[normalize-space()='In the room']",
            10,
        )
        .await;
    assert_eq!(
        attribute(
            &therapist,
            "//button[@aria-label='Participants']",
            "aria-expanded"
        )
        .await,
        "true"
    );
    therapist.click_button("Chat").await;
    therapist.find("//input[@id='chat-input']", 10).await;
    assert_eq!(
        attribute(
            &therapist,
            "//button[@aria-label='Participants']",
            "aria-expanded"
        )
        .await,
        "false"
    );
    therapist.click_button("Close chat").await;
    assert_eq!(
        attribute(&therapist, "//button[@aria-label='Chat']", "aria-expanded").await,
        "false"
    );

    // The therapist's controls on Ben's tile, in its menu.
    tile_action(&therapist, "Ben Okafor", "Mute").await;
    ben.find("//button[@aria-label='Unmute me']", 10).await;
    tile_action(&therapist, "Ben Okafor", "Allow unmute").await;
    ben.wait_text("allows you to turn your microphone", 10)
        .await;

    therapist
        .screenshot("room-one-to-one-therapist-desktop")
        .await;
    ben.screenshot("room-one-to-one-client-desktop").await;
    fits_a_phone(&ben, "room-one-to-one-client-phone").await;
    fits_a_phone(&therapist, "room-one-to-one-therapist-phone").await;

    // End session asks first; Cancel keeps everyone in.
    therapist.click_button("End session").await;
    therapist
        .find(
            "//dialog[@open]//h2[normalize-space()='End the session for everyone?']",
            10,
        )
        .await;
    therapist.screenshot("room-end-confirmation").await;
    therapist.click_button("Cancel").await;
    wait_until(
        &therapist,
        "the dialog closes",
        "return !document.querySelector('dialog[open]')",
        5,
    )
    .await;
    decodes_from(&ben, "Ben after Cancel", 1).await;
    ends_the_session(&therapist).await;
    ben.wait_text("The session has ended", 10).await;
    therapist.wait_text("The session has ended", 10).await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_group_a_raised_hand_reaches_the_therapist_and_tiles_can_be_pinned() {
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
    scene.therapist_opens_the_room(&therapist).await;
    scene.client_waits(&ben, 0, true).await;
    // Someone waits: a count on Participants and in the title bar.
    therapist.wait_text("Ben Okafor", 20).await;
    let title = therapist.js("return document.title", json!([])).await;
    assert!(
        title.as_str().unwrap().starts_with("(1) "),
        "the title counts who waits: {title}"
    );
    assert_eq!(
        therapist
            .js(
                "return document.querySelector('#toggle-people .badge').textContent",
                json!([])
            )
            .await,
        json!("1")
    );
    scene.client_waits(&cleo, 1, true).await;
    therapist.wait_text("Cleo Park", 20).await;
    therapist
        .screenshot("room-group-therapist-waiting-room")
        .await;
    therapist.click_button("Admit all").await;
    for (browser, who) in [(&therapist, "therapist"), (&ben, "Ben"), (&cleo, "Cleo")] {
        decodes_from(browser, who, 2).await;
    }
    let title = therapist.js("return document.title", json!([])).await;
    assert!(
        !title.as_str().unwrap().starts_with('('),
        "no count once nobody waits: {title}"
    );

    // A group shows everyone in the grid, the self-view too, all 16:9.
    let (_, _, w1, h1) = tile_box(&therapist, "Ben Okafor").await;
    let (_, _, w2, _) = tile_box(&therapist, "You").await;
    assert!((w1 - w2).abs() < 2.0, "equal tiles in a group grid");
    assert!((w1 / h1 - 16.0 / 9.0).abs() < 0.05, "tiles keep 16:9");
    for (browser, who) in [(&therapist, "therapist"), (&ben, "Ben")] {
        let fits = browser
            .js("const t = document.getElementById('tiles'); return t.scrollHeight <= t.clientHeight && t.scrollWidth <= t.clientWidth", json!([]))
            .await;
        assert_eq!(
            fits,
            json!(true),
            "{who}'s tiles fit the stage on a desktop, no scrollbar"
        );
    }

    // Ben raises his hand; the therapist sees it on his tile and in the list.
    ben.click_button("Raise hand").await;
    ben.find(
        "//button[@aria-label='Lower hand' and @aria-pressed='true']",
        10,
    )
    .await;
    therapist
        .wait_text("Ben Okafor raised their hand.", 10)
        .await;
    therapist
        .find(
            &format!("{}[contains(@class, 'hand-up')]", tile("Ben Okafor")),
            10,
        )
        .await;
    opens(&therapist, "Participants").await;
    therapist
        .find("//ul[@id='people-list']/li[2][contains(@class, 'hand-up') and contains(., 'Ben Okafor') and contains(., 'hand raised')]", 10)
        .await;
    cleo.wait_text("hand raised", 10).await;
    sees_the_connection_indicator(&therapist, "Cleo Park").await;
    therapist.screenshot("room-group-therapist-desktop").await;
    ben.screenshot("room-group-client-desktop").await;
    fits_a_phone(&cleo, "room-group-client-phone").await;
    fits_a_phone(&therapist, "room-group-therapist-phone").await;
    ben.click_button("Lower hand").await;
    therapist
        .find(
            &format!("{}[not(contains(@class, 'hand-up'))]", tile("Ben Okafor")),
            10,
        )
        .await;

    // Pinning Cleo makes her tile the large one; Unpin brings the grid back.
    tile_action(&therapist, "Cleo Park", "Pin").await;
    wait_until(
        &therapist,
        "Cleo's tile grows",
        "const t = [...document.querySelectorAll('#tiles figure')]; const c = t.find((f) => f.querySelector('.name').textContent === 'Cleo Park'); \
         return t.every((f) => f === c || f.getBoundingClientRect().width * 2 < c.getBoundingClientRect().width)",
        5,
    )
    .await;
    therapist.screenshot("room-group-therapist-pinned").await;
    tile_action(&therapist, "Cleo Park", "Unpin").await;
    // Speaker view and back by the toolbar.
    therapist.click_button("Speaker view").await;
    therapist.click_button("Grid view").await;
    therapist
        .find("//button[@aria-label='Speaker view']", 10)
        .await;

    // Per-person controls from the participants panel too.
    opens(&therapist, "Participants").await;
    therapist
        .click("//ul[@id='people-list']//button[@aria-label='More: Cleo Park']")
        .await;
    therapist
        .click(
            "//ul[@id='people-list']//button[@role='menuitem' and @aria-label='Mute: Cleo Park']",
        )
        .await;
    cleo.find("//button[@aria-label='Unmute me']", 10).await;

    ends_the_session(&therapist).await;
    for b in [&ben, &cleo] {
        b.wait_text("The session has ended", 10).await;
    }
    for b in [therapist, ben, cleo] {
        b.quit().await;
    }
}
