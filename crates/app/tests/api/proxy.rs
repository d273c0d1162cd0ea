//! Behind a reverse proxy: the proxy's `X-Forwarded-For` names the client
//! when, and only when, the proxy is trusted.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

async fn login_from(app: &TestApp, forwarded_for: &str, email: &str) -> StatusCode {
    app.api
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": "not-the-password-1"}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn twenty_failures_from(app: &TestApp, forwarded_for: &str) {
    for i in 0..20 {
        login_from(app, forwarded_for, &format!("person{i}@example.com")).await;
    }
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_so_one_address_is_throttled_not_everyone() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    twenty_failures_from(&app, "203.0.113.1").await;
    assert_eq!(
        login_from(&app, "203.0.113.1", "someone@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another visitor behind the same proxy is not punished for the first.
    assert_eq!(
        login_from(&app, "203.0.113.2", "someone@example.com").await,
        StatusCode::UNAUTHORIZED
    );
    // An address the client wrote in front of the proxy's entry changes nothing.
    assert_eq!(
        login_from(&app, "198.51.100.7, 203.0.113.1", "someone@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn without_a_trusted_proxy_the_header_cannot_dodge_the_throttle() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    twenty_failures_from(&app, "203.0.113.1").await;
    assert_eq!(
        login_from(&app, "203.0.113.2", "someone@example.com").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the header is ignored: all came from the same socket address"
    );
}
