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
    ("post", "/api/v1/me/calendar-feed"),
    ("delete", "/api/v1/me/calendar-feed"),
    ("get", "/api/v1/me/survey-summary"),
    ("post", "/api/v1/surveys"),
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
    // OpenAPI requires operation ids to be unique; clients generate names from them.
    let mut ids = std::collections::BTreeSet::new();
    for operations in paths.values() {
        for operation in operations.as_object().unwrap().values() {
            let id = operation["operationId"]
                .as_str()
                .expect("every operation has an id");
            assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
        }
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

/// Each operation lists the error statuses it can answer, in the error shape.
#[tokio::test]
async fn every_operation_documents_the_errors_it_can_answer() {
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
    let paths = doc["paths"].as_object().unwrap();
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            for status in ["400", "414", "500"] {
                assert!(has(status), "{method} {path} lists no {status}");
            }
            if operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
            {
                assert!(has("401"), "{method} {path} lists no 401");
            }
            if operation.get("requestBody").is_some() {
                for status in ["413", "415", "422"] {
                    assert!(has(status), "{method} {path} lists no {status}");
                }
            }
            if path.contains('{') {
                assert!(has("404"), "{method} {path} lists no 404");
            }
            let schema = &responses["400"]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path}");
        }
    }
    let login = &paths["/api/v1/auth/login"]["post"]["responses"];
    assert!(login.get("429").is_some() && login.get("503").is_some());
    let forgot = &paths["/api/v1/auth/forgot-password"]["post"]["responses"];
    assert!(forgot.get("429").is_some());
}
