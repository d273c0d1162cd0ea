//! The sign-in throttle holds under concurrency, and an attacker's failures
//! lock an account only from the attacker's address.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, PASSWORD};

async fn spawn_behind_proxy(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
}

async fn login_from(app: &TestApp, address: &str, password: &str) -> StatusCode {
    app.api
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({"email": "ana@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

macro_rules! on_both {
    ($name:ident) => {
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
    };
}

on_both!(two_hundred_concurrent_wrong_passwords_get_at_most_five_checks);
on_both!(an_attackers_failures_do_not_lock_the_owner_out_from_another_address);

async fn two_hundred_concurrent_wrong_passwords_get_at_most_five_checks(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    let attempts = (0..200).map(|_| login_from(&app, "203.0.113.1", "not-the-password-1"));
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= 5,
        "{checked} wrong passwords were checked; at most 5 may be"
    );
    assert_eq!(checked + throttled, 200, "other answers: {statuses:?}");
    // Refused attempts were never checked, so they do not count: one at a
    // time, exactly the rest of the five are checked, then the lock holds.
    for n in checked..5 {
        let status = login_from(&app, "203.0.113.1", "not-the-password-1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {}", n + 1);
    }
    assert_eq!(
        login_from(&app, "203.0.113.1", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Wrong passwords one at a time until the throttle answers.
async fn lock_from(app: &TestApp, address: &str) {
    for _ in 0..10 {
        if login_from(app, address, "not-the-password-1").await == StatusCode::TOO_MANY_REQUESTS {
            return;
        }
    }
    panic!("ten wrong passwords from {address} were all checked");
}

async fn an_attackers_failures_do_not_lock_the_owner_out_from_another_address(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    lock_from(&app, "203.0.113.1").await;
    assert_eq!(
        login_from(&app, "203.0.113.1", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "from the attacker's address even the right password waits"
    );
    assert_eq!(
        login_from(&app, "198.51.100.7", PASSWORD).await,
        StatusCode::OK,
        "the owner, elsewhere, signs in"
    );
}
