//! Whole journeys the way people take them, from a page, through forms and
//! the links in their email, by visible names only: a therapist from the
//! home page to a session with a client, and an operator made on the
//! command line. The Firefox journey (firefox.rs) runs the same steps.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, TestApp, PASSWORD};
use crate::person;
use crate::scene::{decodes_from, ends_the_session, sends_chat};
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// Sign up → confirm by email → sign in → authenticator on → sign out → sign
/// in with a code → add a client → schedule → open the room (self-view) →
/// the client follows the emailed link and waits → Admit → video and audio
/// both ways → chat both ways → End session → Sign out.
pub async fn therapist_and_client_journey(app: &TestApp, therapist: &Browser, ben: &Browser) {
    let email = "ana@example.com";
    person::signs_up_and_in(app, therapist, "Ana Ruiz", email).await;
    let key = person::turns_on_the_authenticator(app, therapist).await;
    person::signs_out(therapist).await;
    therapist.click_link("Sign in").await;
    person::signs_in(therapist, email, Some(person::next_code(app, &key))).await;
    therapist.screenshot("journey-dashboard").await;
    therapist.phone_screenshot("journey-dashboard-phone").await;

    person::adds_a_client(therapist, "Ben Okafor", "ben@example.com").await;
    person::schedules(therapist, "individual", &["Ben Okafor"]).await;
    therapist.screenshot("journey-session").await;
    therapist.click_link("Open the room").await;
    therapist
        .wait_text("Connected to the video server", 20)
        .await;
    therapist.click_button("Join session").await;
    sees_self_view(therapist).await;

    person::follow_mailed_link(app, ben, "ben@example.com", "/join/").await;
    ben.wait_text("Connected to the video server", 20).await;
    ben.click_button("Join session").await;
    ben.wait_text("will let you in shortly", 20).await;
    therapist.wait_text("Ben Okafor", 20).await;
    therapist.click_button("Admit").await;
    decodes_from(therapist, "the therapist", 1).await;
    decodes_from(ben, "Ben", 1).await;

    sends_chat(therapist, "Welcome, Ben").await;
    ben.wait_text("Welcome, Ben", 10).await;
    sends_chat(ben, "Thank you, Ana").await;
    therapist.wait_text("Thank you, Ana", 10).await;

    // The room fills the window (no site header): the session ends first.
    ends_the_session(therapist).await;
    ben.wait_text("The session has ended", 10).await;
    therapist.click_button("Sign out").await;
    therapist.find("//a[normalize-space()='Sign in']", 20).await;
    therapist.goto(&app.url("/dashboard")).await;
    therapist
        .find("//button[normalize-space()='Sign in']", 20)
        .await;
}

/// Waits until the therapist's own tile shows their camera.
async fn sees_self_view(browser: &Browser) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let width = browser
            .js(
                "const v = document.querySelector('#tiles figure.self video'); return v ? v.videoWidth : 0",
                json!([]),
            )
            .await;
        if width.as_u64().unwrap_or(0) > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "no self-view in the room");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_therapist_goes_from_the_home_page_to_a_session_with_a_client_through_the_pages() {
    let _one = ONE_AT_A_TIME.lock().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (therapist, ben) = (driver.browser().await, driver.browser().await);
    therapist_and_client_journey(&app, &therapist, &ben).await;
    for b in [therapist, ben] {
        b.quit().await;
    }
}

/// `regroup admin create` on the app's data; returns the key from the
/// printed otpauth URI, as the operator adds it to their app.
pub fn admin_create(app: &TestApp, email: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_regroup"))
        .args([
            "admin",
            "create",
            "--email",
            email,
            "--name",
            "Olive Operator",
        ])
        .args(["--role", "admin", "--password-stdin", "--data-dir"])
        .arg(app.data_dir.path())
        .args(app.database_url_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the regroup binary runs");
    // The child owns its stdin; taken once, here.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(PASSWORD.as_bytes()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "admin create failed");
    let printed = String::from_utf8_lossy(&output.stdout);
    let uri = printed
        .lines()
        .find(|l| l.starts_with("otpauth://"))
        .expect("the otpauth URI is printed");
    let secret = uri
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .expect("the URI carries the secret");
    secret.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_made_on_the_command_line_signs_in_with_a_code_and_sees_the_analytics() {
    let _one = ONE_AT_A_TIME.lock().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let key = admin_create(&app, "olive@regroup.example");
    let olive = driver.browser().await;
    olive.goto(&app.url("/")).await;
    olive.click_link("Sign in").await;
    person::signs_in(
        &olive,
        "olive@regroup.example",
        Some(person::code_now(&app, &key)),
    )
    .await;
    olive.wait_text("Site analytics", 20).await;
    olive.wait_text("Page views", 20).await;
    olive.screenshot("operator-analytics").await;
    olive.phone_screenshot("operator-analytics-phone").await;
    olive.quit().await;
}
