//! Odd request lines get the error shape on both databases: a NUL or other
//! control character in an id names nothing (404), bad UTF-8 or a repeated
//! query key is a 400, a wrong method a 405, an overlong address a 414.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_nul_in_an_id_is_not_found_on_every_id_route,
    odd_request_lines_answer_in_the_error_shape
);

async fn json_error(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON error body");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    (status, code)
}

async fn a_nul_in_an_id_is_not_found_on_every_id_route(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    for path in [
        "/api/v1/clients/%00",
        "/api/v1/video-sessions/%00",
        "/api/v1/video-sessions/%00/invitations/%00/resend",
        "/api/v1/clients/abc%00def",
    ] {
        let response = app.get_auth(path, &token).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(json_error(response).await.1, "not_found", "{path}");
    }
    for path in [
        "/r/%00",
        "/join/%00",
        "/privacy/versions/%00",
        "/sessions/%00",
    ] {
        let (status, _) = app.page(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

async fn odd_request_lines_answer_in_the_error_shape(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let bad_utf8 = app.get_auth("/api/v1/clients/%FF%FE", &token).await;
    assert_eq!(
        json_error(bad_utf8).await,
        (StatusCode::BAD_REQUEST, "invalid_path".into())
    );

    let repeated = app
        .get_auth("/api/v1/clients?search=a&search=b", &token)
        .await;
    assert_eq!(
        json_error(repeated).await,
        (StatusCode::BAD_REQUEST, "invalid_query".into())
    );

    let wrong_method = app
        .api
        .put(app.url("/api/v1/clients"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_error(wrong_method).await,
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into())
    );

    let long = format!("/api/v1/clients?search={}", "a".repeat(9000));
    let too_long = app.get_auth(&long, &token).await;
    assert_eq!(
        json_error(too_long).await,
        (StatusCode::URI_TOO_LONG, "uri_too_long".into())
    );

    // A page route keeps a page for its errors.
    let page = app.api.put(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(page.text().await.unwrap().contains("<html"));
}
