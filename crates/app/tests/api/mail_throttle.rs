//! Forms that mail an address someone typed are throttled per requesting
//! address and per recipient: five an hour each.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, PASSWORD};

async fn spawn_behind_proxy(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
}

macro_rules! on_both {
    ($($name:ident),*) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::spawn_behind_proxy($crate::helpers::Backend::Sqlite).await)
                    .await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(super::spawn_behind_proxy($crate::helpers::Backend::Postgres).await)
                    .await;
            }
        }
    )*};
}

on_both!(
    the_sixth_sign_up_from_one_address_within_an_hour_is_throttled,
    the_sixth_reset_request_for_one_email_is_throttled_from_any_address,
    concurrent_reset_requests_for_one_email_get_at_most_five_through,
    the_sixth_request_for_a_new_verification_link_is_throttled
);

async fn post_from(
    app: &TestApp,
    address: &str,
    path: &str,
    body: serde_json::Value,
) -> StatusCode {
    app.api
        .post(app.url(path))
        .header("x-forwarded-for", address)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn sign_up_from(app: &TestApp, address: &str, email: &str) -> StatusCode {
    let body = json!({"name": "Ana Ruiz", "email": email, "password": PASSWORD});
    post_from(app, address, "/api/v1/therapists", body).await
}

async fn forgot_from(app: &TestApp, address: &str, email: &str) -> StatusCode {
    post_from(
        app,
        address,
        "/api/v1/auth/forgot-password",
        json!({ "email": email }),
    )
    .await
}

async fn the_sixth_sign_up_from_one_address_within_an_hour_is_throttled(app: TestApp) {
    for i in 0..5 {
        let email = format!("t{i}@example.com");
        assert_eq!(
            sign_up_from(&app, "203.0.113.1", &email).await,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        sign_up_from(&app, "203.0.113.1", "t5@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_up_from(&app, "203.0.113.2", "t5@example.com").await,
        StatusCode::CREATED,
        "another address is not throttled"
    );
    assert_eq!(app.outbox().len(), 6, "no mail for the refused sign-up");
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(
        sign_up_from(&app, "203.0.113.1", "t6@example.com").await,
        StatusCode::CREATED,
        "an hour later the address may sign up again"
    );
}

async fn the_sixth_reset_request_for_one_email_is_throttled_from_any_address(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    let before = app.mail_to("ana@example.com").len();
    for i in 0..5 {
        let address = format!("198.51.100.{}", i + 1);
        assert_eq!(
            forgot_from(&app, &address, "ana@example.com").await,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(
        forgot_from(&app, "198.51.100.99", "ana@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // An unknown address is throttled the same, so 429 tells nothing.
    for _ in 0..5 {
        forgot_from(&app, "192.0.2.1", "ghost@example.com").await;
    }
    assert_eq!(
        forgot_from(&app, "192.0.2.2", "ghost@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.run_jobs().await;
    // Requests waiting in the queue together make one mail (its link is the
    // only valid one anyway).
    assert_eq!(app.mail_to("ana@example.com").len() - before, 1);
}

async fn concurrent_reset_requests_for_one_email_get_at_most_five_through(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    let requests = (0..40).map(|i| {
        let address = format!("198.51.100.{}", i + 1);
        let app = &app;
        async move { forgot_from(app, &address, "ana@example.com").await }
    });
    let statuses = futures_util::future::join_all(requests).await;
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(accepted <= 5, "{accepted} reset requests went through");
    assert_eq!(accepted + throttled, 40, "other answers: {statuses:?}");
}

async fn the_sixth_request_for_a_new_verification_link_is_throttled(app: TestApp) {
    app.sign_up("Ana Ruiz", "ana@example.com").await;
    for _ in 0..5 {
        let status = post_from(
            &app,
            "203.0.113.1",
            "/api/v1/auth/resend-verification",
            json!({"email": "ana@example.com"}),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let status = post_from(
        &app,
        "203.0.113.1",
        "/api/v1/auth/resend-verification",
        json!({"email": "ana@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// The sign-up page answers a throttled form with the form again, its
/// message, 429 and Retry-After.
#[tokio::test]
async fn the_sign_up_page_says_when_to_try_again() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for i in 0..5 {
        let email = format!("t{i}@example.com");
        assert_eq!(
            sign_up_from(&app, "ignored", &email).await,
            StatusCode::CREATED
        );
    }
    let email = "page@example.com";
    let response = app
        .submit(
            "/sign-up",
            "/sign-up",
            &[
                ("name", "Ana Ruiz"),
                ("email", email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Too many attempts"), "{html}");
}
