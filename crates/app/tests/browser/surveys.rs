//! The survey after a session, in the browser: the therapist ends a 1:1
//! session, both see the optional survey, the client answers it by clicking
//! and typing, the therapist skips it; the database then holds exactly one
//! answer, with no participant, session or account id in it. In Chromium,
//! and with the client in Firefox.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::{Column, Row};

use crate::firefox::app_reachable_from_firefox;
use crate::helpers::{Backend, TestApp};
use crate::netns;
use crate::scene::{scene, Scene};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// The rating `value` in the group whose legend starts with `legend`,
/// clicked on its label as a person taps it.
fn rating(legend: &str, value: u8) -> String {
    format!(
        "//fieldset[legend[starts-with(normalize-space(), '{legend}')]]\
         //label[.//span[@class='rating-number' and normalize-space()='{value}']]"
    )
}

/// The survey's Send (the room's chat has a hidden Send button too).
const SEND: &str = "//form[.//h2[starts-with(normalize-space(), 'How was it?')]]//button[normalize-space()='Send']";

/// "End session", and "End for everyone" when the page asks to confirm.
async fn ends_the_session(therapist: &Browser) {
    therapist.click_button("End session").await;
    let confirm = "//button[normalize-space()='End for everyone']";
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let shown = therapist
            .js(
                "const b = document.evaluate(arguments[0], document, null, 9, null).singleNodeValue; \
                 return !!b && b.offsetParent !== null",
                json!([confirm]),
            )
            .await;
        if shown == json!(true) {
            therapist.click(confirm).await;
            return;
        }
        if therapist.text().await.contains("The session has ended") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn the_client_answers_and_the_therapist_skips(
    scene: &Scene,
    therapist: &Browser,
    ben: &Browser,
) {
    scene.one_to_one(therapist, ben).await;
    ends_the_session(therapist).await;
    for browser in [therapist, ben] {
        browser.wait_text("The session has ended", 10).await;
        browser.wait_text("How was it?", 10).await;
        browser
            .find("//button[normalize-space()='Skip the survey']", 5)
            .await;
    }
    ben.screenshot("survey-client").await;
    ben.phone_screenshot("survey-client-phone").await;

    // Send without a rating: the page says what is missing.
    ben.click(SEND).await;
    ben.wait_text("Please choose a rating for both questions", 5)
        .await;
    ben.click(&rating("Quality of the call", 4)).await;
    // The keyboard works as in any radio group: 4, then the right arrow.
    ben.click(&rating("Your experience", 4)).await;
    ben.type_into(
        &format!("{}//input", rating("Your experience", 4)),
        "\u{E014}",
    )
    .await;
    ben.fill("Anything else", "The sound was clear.\nThank you.")
        .await;
    ben.click(SEND).await;
    ben.wait_text("Thank you. Your answers were sent.", 10)
        .await;
    ben.screenshot("survey-client-sent").await;

    therapist.click_button("Skip the survey").await;
    therapist.wait_text("No survey this time", 5).await;
    // The dashboard has the place for the figures, empty below five answers.
    therapist.click_link("Dashboard").await;
    therapist.wait_text("What your clients said", 10).await;
    therapist.wait_text("Fewer than 5 answers so far", 5).await;

    // Exactly one answer, and nothing in it that names anyone.
    let rows = sqlx::query("SELECT * FROM survey_answers")
        .fetch_all(scene.app.store().pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one answer stored");
    let row = &rows[0];
    let columns: BTreeSet<&str> = row.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        columns,
        BTreeSet::from([
            "week",
            "kind",
            "size_bucket",
            "role",
            "quality",
            "experience",
            "comment"
        ]),
        "no participant or session id"
    );
    assert_eq!(row.try_get::<String, _>("role").unwrap(), "client");
    assert_eq!(row.try_get::<String, _>("kind").unwrap(), "individual");
    assert_eq!(row.try_get::<i64, _>("quality").unwrap(), 4);
    assert_eq!(row.try_get::<i64, _>("experience").unwrap(), 5);
    assert_eq!(
        row.try_get::<String, _>("comment").unwrap(),
        "The sound was clear.\nThank you."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_session_the_client_answers_the_survey_and_one_anonymous_row_is_stored() {
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
    the_client_answers_and_the_therapist_skips(&scene, &therapist, &ben).await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_in_firefox_answers_the_survey_after_a_session() {
    let _one = ONE_AT_A_TIME.lock().await;
    // Firefox needs a network of its own for media (see netns.rs).
    if !netns::inside() {
        netns::run_inside("surveys::a_client_in_firefox_answers_the_survey_after_a_session");
        return;
    }
    netns::set_up_network();
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
    the_client_answers_and_the_therapist_skips(&scene, &therapist, &ben).await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}
