//! Every `<form method="post">` that a visitor, a therapist and an operator
//! can reach by links is submitted once in Chromium, by clicking its button,
//! with whatever the page put in it, and none answers 403 or 5xx. A wrong
//! or empty value gets a 4xx with a message; what must never happen again
//! is a form that the browser itself cannot send (a CSRF check that refuses
//! real browsers), or one that breaks the server. A new form is covered the
//! day it is linked from a page.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::journeys::admin_create;
use crate::person;
use crate::webdriver::{Browser, Driver};
use crate::ONE_AT_A_TIME;

/// Paths the crawler does not open: files, media, redirects out, email
/// links, the room (its controls are not forms; the room tests cover them).
fn skipped(path: &str) -> bool {
    [
        "/static/",
        "/r/",
        "/dev/outbox",
        "/join/",
        "/api/",
        "/account/export",
    ]
    .iter()
    .any(|p| path.starts_with(p))
        || path.ends_with("/room")
}

/// Same-origin links of the page shown now.
async fn links(browser: &Browser) -> Vec<String> {
    let value = browser
        .js(
            "return [...document.querySelectorAll('a[href]')] \
               .filter((a) => a.origin === location.origin && !a.hasAttribute('download')) \
               .map((a) => a.pathname + a.search)",
            json!([]),
        )
        .await;
    serde_json::from_value(value).unwrap_or_default()
}

/// The actions of the page's POST forms, in page order.
async fn post_forms(browser: &Browser) -> Vec<String> {
    let value = browser
        .js(
            "return [...document.forms].filter((f) => f.method === 'post') \
               .map((f) => new URL(f.action).pathname)",
            json!([]),
        )
        .await;
    serde_json::from_value(value).unwrap_or_default()
}

/// Pages reachable by links from `start`, breadth first.
async fn reachable(app: &TestApp, browser: &Browser, start: &str) -> Vec<String> {
    let mut seen = BTreeSet::from([start.to_string()]);
    let mut queue = VecDeque::from([start.to_string()]);
    let mut pages = Vec::new();
    while let Some(path) = queue.pop_front() {
        browser.goto(&app.url(&path)).await;
        pages.push(path);
        for link in links(browser).await {
            if !skipped(&link) && seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
        assert!(pages.len() < 80, "the crawl does not end: {pages:?}");
    }
    pages
}

/// Clicks the submit button of the page's `index`-th POST form (the browser
/// checks nothing first, as the server must) and waits for the next page.
async fn submit(browser: &Browser, index: usize) -> (u64, String) {
    browser
        .js(
            "window.__regroupOld = true; \
             const f = [...document.forms].filter((f) => f.method === 'post')[arguments[0]]; \
             f.noValidate = true;",
            json!([index]),
        )
        .await;
    let form = format!("(//form[@method='post'])[{}]", index + 1);
    let button = format!("{form}//button[@type='submit' or not(@type)]");
    let visible = browser
        .js(
            "const b = document.evaluate(arguments[0], document, null, 9, null).singleNodeValue; \
             return !!b && b.offsetParent !== null",
            json!([button]),
        )
        .await;
    if visible == json!(true) {
        browser.click(&button).await;
    } else {
        // A form whose button sits in a closed disclosure: submitted as
        // the browser would once it is open.
        browser
            .js(
                "document.evaluate(arguments[0], document, null, 9, null).singleNodeValue.requestSubmit()",
                json!([form]),
            )
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let fresh = browser
            .js(
                "return window.__regroupOld === undefined && document.readyState === 'complete'",
                json!([]),
            )
            .await;
        if fresh == json!(true) {
            return browser.page_status().await;
        }
        assert!(Instant::now() < deadline, "form {index} led to no new page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits every POST form on `pages` once (per action), sign-out forms last.
/// `sign_in_again` is run when a form signed the browser out.
async fn submit_every_form(
    app: &TestApp,
    browser: &Browser,
    who: &str,
    pages: &[String],
) -> Vec<(String, String, u64)> {
    let mut todo = Vec::new();
    let mut actions = BTreeSet::new();
    for page in pages {
        browser.goto(&app.url(page)).await;
        for (index, action) in post_forms(browser).await.into_iter().enumerate() {
            if actions.insert(action.clone()) {
                todo.push((page.clone(), index, action));
            }
        }
    }
    // Sign-out forms end the session the other forms need: last, and
    // "everywhere" before the plain one.
    todo.sort_by_key(|(_, _, action)| match action.as_str() {
        "/sign-out" => 2,
        a if a.contains("sign-out") => 1,
        _ => 0,
    });
    let mut done = Vec::new();
    for (page, index, action) in todo {
        browser.goto(&app.url(&page)).await;
        if post_forms(browser).await.get(index) != Some(&action) {
            // An earlier form changed this page (a deleted client, say).
            continue;
        }
        let (status, landed) = submit(browser, index).await;
        check(who, &page, &action, status, &landed);
        done.push((page.clone(), action, status));
        // A page only a form leads to (the authenticator set-up after
        // "Set up"): its first new form is submitted too, while it shows.
        if let Some(next) = post_forms(browser)
            .await
            .into_iter()
            .position(|a| !actions.contains(&a))
        {
            let next_action = post_forms(browser).await[next].clone();
            actions.insert(next_action.clone());
            let (status, after) = submit(browser, next).await;
            check(who, &landed, &next_action, status, &after);
            done.push((landed, next_action, status));
        }
    }
    done
}

fn check(who: &str, page: &str, action: &str, status: u64, landed: &str) {
    eprintln!("{who}: {page} → POST {action} → {status} {landed}");
    assert!(
        status != 403 && status < 500 && status != 0,
        "{who}: the form {action} on {page} answered {status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_a_visitor_a_therapist_and_an_operator_reach_answers_without_403_or_5xx() {
    let _one = ONE_AT_A_TIME.lock().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;

    // A visitor asks a privacy question, so operators have one to answer.
    let visitor = driver.browser().await;
    visitor.goto(&app.url("/contact")).await;
    visitor.fill("Your name", "Vera Visitor").await;
    visitor.fill("Your email", "vera@example.com").await;
    visitor
        .fill("Your question", "How long do you keep page views?")
        .await;
    visitor.click_button("Send").await;
    // (The form page itself says "30 days": wait for the answer's words, or
    // the crawl below navigates away before the question is stored.)
    visitor.wait_text("We received your question", 20).await;
    let pages = reachable(&app, &visitor, "/").await;
    let public = submit_every_form(&app, &visitor, "visitor", &pages).await;
    visitor.quit().await;

    // A therapist with something on every page: a client, a session, a
    // support ticket.
    let ana = driver.browser().await;
    person::signs_up_and_in(&app, &ana, "Ana Ruiz", "ana@example.com").await;
    person::adds_a_client(&ana, "Ben Okafor", "ben@example.com").await;
    person::schedules(&ana, "individual", &["Ben Okafor"]).await;
    ana.click_link("Support").await;
    ana.fill("Subject", "Invitation wording").await;
    ana.fill("Message", "Can I change the invitation text?")
        .await;
    ana.click_button("Open ticket").await;
    ana.wait_text("Invitation wording", 20).await;
    let pages = reachable(&app, &ana, "/dashboard").await;
    let therapist = submit_every_form(&app, &ana, "therapist", &pages).await;
    ana.quit().await;

    let key = admin_create(&app, "olive@regroup.example");
    let olive = driver.browser().await;
    olive.goto(&app.url("/sign-in")).await;
    person::signs_in(
        &olive,
        "olive@regroup.example",
        Some(person::code_now(&app, &key)),
    )
    .await;
    let pages = reachable(&app, &olive, "/admin").await;
    let operator = submit_every_form(&app, &olive, "operator", &pages).await;
    olive.quit().await;

    // Enough forms were found that a broken crawl cannot pass unnoticed.
    let count = |done: &[(String, String, u64)], needle: &str| {
        done.iter()
            .filter(|(_, a, _)| a.starts_with(needle))
            .count()
    };
    assert!(
        count(&public, "/sign-") >= 2 && count(&public, "/contact") == 1,
        "{public:?}"
    );
    assert!(
        count(&therapist, "/clients") >= 2
            && count(&therapist, "/sessions") >= 3
            && count(&therapist, "/security") >= 4
            && count(&therapist, "/support") >= 2,
        "{therapist:?}"
    );
    assert!(count(&operator, "/admin") >= 6, "{operator:?}");
    eprintln!(
        "forms submitted: {} by the visitor, {} by the therapist, {} by the operator",
        public.len(),
        therapist.len(),
        operator.len()
    );
}
