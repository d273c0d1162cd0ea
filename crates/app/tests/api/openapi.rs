use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

/// The API's fixed shape: these operations must exist and be documented.
const REQUIRED: &[(&str, &str)] = &[
    ("post", "/api/v1/therapists"),
    ("post", "/api/v1/auth/verify-email"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/me"),
    ("patch", "/api/v1/me"),
    ("delete", "/api/v1/me"),
    ("get", "/api/v1/me/export"),
];

#[tokio::test]
async fn the_openapi_document_lists_the_fixed_api_and_every_listed_route_exists() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc: Value = app
        .api
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in REQUIRED {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let url = app.url(path);
            let request = match method.as_str() {
                "get" => app.api.get(url),
                "post" => app.api.post(url),
                "patch" => app.api.patch(url),
                "delete" => app.api.delete(url),
                "put" => app.api.put(url),
                other => panic!("unexpected method {other}"),
            };
            let response = request.send().await.unwrap();
            assert_ne!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(
                body["error"]["code"], "no_route",
                "{method} {path} is documented but not routed"
            );
        }
    }
}
