use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    sign_up_fields_are_validated_with_messages_that_name_the_field,
    bodies_that_are_not_json_or_too_large_get_clear_errors,
    a_bad_profile_patch_changes_nothing,
    oversized_and_odd_forms_get_a_page_not_a_crash,
);

async fn error_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    (status, body["error"].clone())
}

async fn sign_up_fields_are_validated_with_messages_that_name_the_field(app: TestApp) {
    let long_name = "n".repeat(201);
    let long_email = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
    let cases = [
        (
            json!({"name": "", "email": "a@example.com", "password": PASSWORD}),
            "name",
        ),
        (
            json!({"name": long_name, "email": "a@example.com", "password": PASSWORD}),
            "name",
        ),
        (
            json!({"name": "Ana", "email": "", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"name": "Ana", "email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"name": "Ana", "email": long_email, "password": PASSWORD}),
            "email",
        ),
        (
            json!({"name": "Ana", "email": "a@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"name": "Ana", "email": "a@example.com", "password": "password1234"}),
            "password",
        ),
        (
            json!({"name": "Ana", "email": "a@example.com", "password": "x".repeat(129)}),
            "password",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = error_of(app.post_json("/api/v1/therapists", &body).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error["field"], field, "{body}");
    }
    let (status, error) = error_of(
        app.post_json("/api/v1/therapists", &json!({"name": "Ana", "email": "a@example.com", "password": PASSWORD, "role": "admin"})).await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["message"].as_str().unwrap().contains("role"));
    let (status, _) = error_of(
        app.post_json("/api/v1/therapists", &json!({"name": "Ana"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing was stored by any of these.
    assert!(app.outbox().is_empty());
}

async fn bodies_that_are_not_json_or_too_large_get_clear_errors(app: TestApp) {
    let url = app.url("/api/v1/therapists");
    let plain = app
        .api
        .post(&url)
        .body("name=Ana")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(plain).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let broken = app
        .api
        .post(&url)
        .body("{\"name\": ")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(broken).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], "invalid_json");
    let array = app
        .api
        .post(&url)
        .json(&json!([1, 2, 3]))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(array).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let huge =
        json!({"name": "a".repeat(1024 * 1024), "email": "a@example.com", "password": PASSWORD});
    let (status, error) = error_of(app.api.post(&url).json(&huge).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["code"], "too_large");
    let login = app
        .api
        .post(app.url("/api/v1/auth/login"))
        .body(vec![0xff, 0xfe, 0x00])
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(login).await.0, StatusCode::BAD_REQUEST);
    // The server is still fine.
    assert_eq!(
        app.api
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

async fn a_bad_profile_patch_changes_nothing(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let before: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    let bad = [
        json!({"name": "Ana Changed", "bio": "b".repeat(2001)}),
        json!({"name": "Ana Changed", "credential": "line\nbreak"}),
        json!({"name": "Ana Changed", "time_zone": "Not A Zone!"}),
        json!({"name": "Ana Changed", "email": "nope"}),
        json!({"name": "   "}),
        json!({"name": "Ana Changed", "is_admin": true}),
        // serde would fill the struct from an array: only objects are bodies.
        json!([null, null, null, null, null, null, null]),
        json!(["Ana Changed"]),
    ];
    for body in bad {
        let response = app.patch_auth("/api/v1/me", &token, &body).await;
        assert_eq!(
            error_of(response).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
    }
    let after: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before, after);
}

async fn oversized_and_odd_forms_get_a_page_not_a_crash(app: TestApp) {
    let (_, html) = app.page("/sign-up").await;
    let token = crate::helpers::csrf_token(&html);
    let huge = "a".repeat(1024 * 1024);
    let response = app
        .browser
        .post(app.url("/sign-up"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", &huge),
            ("email", "a@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    let invalid = app
        .submit(
            "/sign-up",
            "/sign-up",
            &[("name", "Ana"), ("email", "nope"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = invalid.text().await.unwrap();
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("value=\"Ana\""), "what was typed is kept");
    assert!(!html.contains(PASSWORD), "the password is not echoed back");
}
