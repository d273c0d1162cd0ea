//! What a therapist does in the browser, step by step, through the pages a
//! person sees: no cookie set by hand, no API call, only links, labelled
//! fields and buttons by their visible names.

use crate::helpers::{TestApp, PASSWORD};
use crate::webdriver::Browser;

/// Opens the newest email to `to` on the outbox page (where mail goes when
/// no mail server is set) and follows its link that contains `path`.
pub async fn follow_mailed_link(app: &TestApp, browser: &Browser, to: &str, path: &str) {
    browser.goto(&app.url("/dev/outbox")).await;
    let link =
        format!("(//article[.//p[contains(., 'To {to}')]]//a[contains(@href, '{path}')])[1]");
    browser.click(&link).await;
}

/// From the home page: sign up, confirm the address by the emailed link,
/// sign in. Ends on the dashboard.
pub async fn signs_up_and_in(app: &TestApp, browser: &Browser, name: &str, email: &str) {
    browser.goto(&app.url("/")).await;
    browser.click_link("Sign up").await;
    browser.fill("Your name", name).await;
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.click_button("Create account").await;
    browser.wait_text("Check your email", 20).await;

    follow_mailed_link(app, browser, email, "/verify-email/").await;
    browser.click_button("Confirm my email").await;
    browser.wait_text("Your email is confirmed", 20).await;
    browser.click_link("Sign in").await;
    signs_in(browser, email, None).await;
}

/// On the sign-in page: email, password and, when asked, the code.
pub async fn signs_in(browser: &Browser, email: &str, code: Option<String>) {
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.click_button("Sign in").await;
    if let Some(code) = code {
        browser.fill("Six-digit code", &code).await;
        browser.click_button("Continue").await;
    }
    browser
        .find(
            "//h1[starts-with(normalize-space(), 'Welcome') or normalize-space()='Site analytics']",
            20,
        )
        .await;
}

/// Security page → authenticator set-up: reads the key the page shows, as a
/// person types it into their app, and confirms with the app's code.
/// Returns the key.
pub async fn turns_on_the_authenticator(app: &TestApp, browser: &Browser) -> String {
    browser.click_link("Security").await;
    browser.click_button("Set up an authenticator app").await;
    browser.find("//code[@class='secret']", 20).await;
    let key = browser
        .js(
            "return document.querySelector('code.secret').innerText",
            serde_json::json!([]),
        )
        .await
        .as_str()
        .expect("the page shows the key")
        .replace(' ', "");
    browser
        .fill("Code from the app", &code_now(app, &key))
        .await;
    browser.click_button("Turn on").await;
    browser.wait_text("recovery", 20).await;
    browser.click_link("Done").await;
    browser.wait_text("Signing in asks for a code", 20).await;
    key
}

/// What an authenticator app shows for `key`, a step ahead of the one just
/// used (each code counts once; the server accepts one step either side).
pub fn code_now(app: &TestApp, key: &str) -> String {
    regroup::auth::totp::code_at(key, app.clock.unix()).expect("a valid key")
}

pub fn next_code(app: &TestApp, key: &str) -> String {
    regroup::auth::totp::code_at(key, app.clock.unix() + 30).expect("a valid key")
}

pub async fn signs_out(browser: &Browser) {
    browser.click_button("Sign out").await;
    browser.find("//a[normalize-space()='Sign in']", 20).await;
}

/// Clients page → the add form.
pub async fn adds_a_client(browser: &Browser, name: &str, email: &str) {
    browser.click_link("Clients").await;
    browser.fill("Client's name", name).await;
    browser.fill("Client's email", email).await;
    browser.click_button("Add client").await;
    browser.wait_text(name, 20).await;
}

/// Dashboard → Schedule a session, with the page's own date and time (the
/// next quarter hour), ticking the named clients. Ends on the session's page.
pub async fn schedules(browser: &Browser, kind: &str, clients: &[&str]) {
    browser.click_link("Dashboard").await;
    browser.click_link("Schedule a session").await;
    let kind_label = if kind == "group" {
        "Group"
    } else {
        "Individual"
    };
    browser
        .click(&format!(
            "//label[starts-with(normalize-space(), '{kind_label}')]"
        ))
        .await;
    for name in clients {
        browser
            .click(&format!("//label[normalize-space()='{name}']"))
            .await;
    }
    assert!(
        !browser.value_of("Date").await.is_empty(),
        "the form suggests a date"
    );
    browser.click_button("Schedule and invite").await;
    browser
        .find("//a[normalize-space()='Open the room']", 20)
        .await;
}
