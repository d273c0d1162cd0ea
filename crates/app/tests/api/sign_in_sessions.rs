use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    logging_out_stops_the_token_working,
    a_session_ends_after_thirty_idle_minutes,
    a_busy_session_still_ends_after_twelve_hours,
    repeated_failures_for_one_account_are_throttled_with_retry_after,
    an_unknown_email_and_a_wrong_password_get_the_same_answer,
    many_failures_from_one_address_are_throttled_across_accounts,
    api_calls_without_a_token_are_unauthorized,
);

async fn logging_out_stops_the_token_working(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    assert_eq!(
        app.get_auth("/api/v1/me", &token).await.status(),
        StatusCode::OK
    );
    let out = app
        .api
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_auth("/api/v1/me", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn a_session_ends_after_thirty_idle_minutes(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(
        app.get_auth("/api/v1/me", &token).await.status(),
        StatusCode::OK
    );
    app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(
        app.get_auth("/api/v1/me", &token).await.status(),
        StatusCode::OK,
        "activity keeps it alive"
    );
    app.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(
        app.get_auth("/api/v1/me", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn a_busy_session_still_ends_after_twelve_hours(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    for _ in 0..(12 * 3) {
        app.clock.advance(chrono::Duration::minutes(20));
        let status = app.get_auth("/api/v1/me", &token).await.status();
        if status == StatusCode::UNAUTHORIZED {
            return;
        }
        assert_eq!(status, StatusCode::OK);
    }
    panic!("the session outlived its 12-hour limit");
}

async fn repeated_failures_for_one_account_are_throttled_with_retry_after(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    for _ in 0..5 {
        let wrong = app.login("ana@example.com", "not-the-password-1").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = app.login("ana@example.com", PASSWORD).await;
    assert_eq!(
        throttled.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60);
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");

    // An unknown account is throttled just the same, so 429 reveals nothing.
    for _ in 0..5 {
        app.login("ghost@example.com", "not-the-password-1").await;
    }
    assert_eq!(
        app.login("ghost@example.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        app.login("ana@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn an_unknown_email_and_a_wrong_password_get_the_same_answer(app: TestApp) {
    app.verified_therapist("ana@example.com").await;
    let wrong: Value = app
        .login("ana@example.com", "not-the-password-1")
        .await
        .json()
        .await
        .unwrap();
    let unknown: Value = app
        .login("nobody@example.com", "not-the-password-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(wrong, unknown);
}

async fn many_failures_from_one_address_are_throttled_across_accounts(app: TestApp) {
    for i in 0..20 {
        app.login(&format!("person{i}@example.com"), "not-the-password-1")
            .await;
    }
    let next = app
        .login("someone-else@example.com", "not-the-password-1")
        .await;
    assert_eq!(next.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn api_calls_without_a_token_are_unauthorized(app: TestApp) {
    let none = app.api.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let forged = app
        .get_auth("/api/v1/me", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}
