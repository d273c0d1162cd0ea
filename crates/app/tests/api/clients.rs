use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_therapist_adds_lists_searches_edits_and_deletes_clients,
    one_email_twice_for_one_therapist_is_a_conflict_but_not_across_therapists,
    client_fields_are_validated,
    another_therapist_gets_not_found_for_every_client_route,
    an_operator_has_no_route_to_client_data,
    the_list_is_sorted_by_name_ignoring_case_not_by_when_clients_were_added,
    clients_of_the_same_name_are_listed_in_the_order_they_were_added,
);

pub async fn add_client(app: &TestApp, token: &str, name: &str, email: &str) -> Value {
    let response = app
        .post_auth(
            "/api/v1/clients",
            token,
            &json!({"name": name, "email": email}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// One field of every client in the therapist's list, in the list's order.
async fn listed(app: &TestApp, token: &str, field: &str) -> Vec<String> {
    let list: Value = app
        .get_auth("/api/v1/clients", token)
        .await
        .json()
        .await
        .unwrap();
    list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[field].as_str().unwrap().to_owned())
        .collect()
}

async fn the_list_is_sorted_by_name_ignoring_case_not_by_when_clients_were_added(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    for (name, email) in [
        ("dora Quinn", "dora@example.com"),
        ("Ben Okafor", "ben@example.com"),
        ("alma Diaz", "alma@example.com"),
        ("Carla Reyes", "carla@example.com"),
    ] {
        add_client(&app, &token, name, email).await;
    }
    let names = listed(&app, &token, "name").await;
    assert_eq!(
        names,
        ["alma Diaz", "Ben Okafor", "Carla Reyes", "dora Quinn"]
    );
}

async fn clients_of_the_same_name_are_listed_in_the_order_they_were_added(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    // The database walks the clients by the keyed hash of their email, an
    // order unrelated to when they were added: with eight namesakes, the
    // right order by chance is one in 40,320.
    let spellings = ["Sam Lee", "sam lee", "SAM LEE", "Sam lee"];
    let mut namesakes = Vec::new();
    for i in 0..8 {
        let email = format!("sam{i}@example.com");
        let client = add_client(&app, &token, spellings[i % 4], &email).await;
        namesakes.push(client["id"].as_str().unwrap().to_owned());
        if i == 3 {
            add_client(&app, &token, "Ana Bell", "ana.bell@example.com").await;
        }
    }
    let ids = listed(&app, &token, "id").await;
    assert_eq!(ids.len(), 9);
    assert_eq!(ids[1..], namesakes);
}

async fn a_therapist_adds_lists_searches_edits_and_deletes_clients(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let ben = add_client(&app, &token, "Ben Okafor", "Ben@Example.com").await;
    assert_eq!(ben["name"], "Ben Okafor");
    assert_eq!(ben["email"], "ben@example.com");
    add_client(&app, &token, "Carla Reyes", "carla@example.com").await;

    let names = listed(&app, &token, "name").await;
    assert_eq!(names, ["Ben Okafor", "Carla Reyes"]);
    let found: Value = app
        .get_auth("/api/v1/clients?search=reY", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["clients"].as_array().unwrap().len(), 1);
    assert_eq!(found["clients"][0]["name"], "Carla Reyes");

    let id = ben["id"].as_str().unwrap();
    let path = format!("/api/v1/clients/{id}");
    let one: Value = app.get_auth(&path, &token).await.json().await.unwrap();
    assert_eq!(one, ben);
    let patched = app
        .patch_auth(&path, &token, &json!({"name": "Benjamin Okafor"}))
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let one: Value = app.get_auth(&path, &token).await.json().await.unwrap();
    assert_eq!(one["name"], "Benjamin Okafor");
    assert_eq!(one["email"], "ben@example.com");

    let deleted = app.delete_auth(&path, &token, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_auth(&path, &token).await.status(),
        StatusCode::NOT_FOUND
    );
    let list: Value = app
        .get_auth("/api/v1/clients", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["clients"].as_array().unwrap().len(), 1);
}

async fn one_email_twice_for_one_therapist_is_a_conflict_but_not_across_therapists(app: TestApp) {
    let ana = app.token_for("ana@example.com").await;
    let other = app.token_for("dora@example.com").await;
    add_client(&app, &ana, "Ben Okafor", "ben@example.com").await;
    let again = app
        .post_auth(
            "/api/v1/clients",
            &ana,
            &json!({"name": "Ben O.", "email": " BEN@example.com "}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"]["field"], "email");
    assert!(
        !body.to_string().contains("ben@example.com"),
        "the error does not echo the address"
    );
    add_client(&app, &other, "Ben Okafor", "ben@example.com").await;
}

async fn client_fields_are_validated(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let cases = [
        (json!({"name": "", "email": "a@example.com"}), "name"),
        (
            json!({"name": "x".repeat(201), "email": "a@example.com"}),
            "name",
        ),
        (json!({"name": "Ana", "email": "nope"}), "email"),
        (
            json!({"name": "Ana", "email": format!("{}@example.com", "a".repeat(250))}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let response = app.post_auth("/api/v1/clients", &token, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field);
    }
    let unknown = app
        .post_auth(
            "/api/v1/clients",
            &token,
            &json!({"name": "Ana", "email": "a@example.com", "diagnosis": "x"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let list: Value = app
        .get_auth("/api/v1/clients", &token)
        .await
        .json()
        .await
        .unwrap();
    assert!(list["clients"].as_array().unwrap().is_empty());
}

async fn another_therapist_gets_not_found_for_every_client_route(app: TestApp) {
    let ana = app.token_for("ana@example.com").await;
    let bea = app.token_for("bea@example.com").await;
    let client = add_client(&app, &ana, "Ben Okafor", "ben@example.com").await;
    let path = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());
    assert_eq!(
        app.get_auth(&path, &bea).await.status(),
        StatusCode::NOT_FOUND
    );
    let patch = app
        .patch_auth(&path, &bea, &json!({"name": "Hijacked"}))
        .await;
    assert_eq!(patch.status(), StatusCode::NOT_FOUND);
    let delete = app.delete_auth(&path, &bea, None).await;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    let list = app
        .get_auth("/api/v1/clients", &bea)
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains("Ben"));
    // Ana's client is untouched.
    let mine: Value = app.get_auth(&path, &ana).await.json().await.unwrap();
    assert_eq!(mine["name"], "Ben Okafor");
}

async fn an_operator_has_no_route_to_client_data(app: TestApp) {
    let ana = app.token_for("ana@example.com").await;
    let client = add_client(&app, &ana, "Ben Okafor", "ben@example.com").await;
    let operator = crate::helpers::operator_token(&app).await;
    for path in [
        "/api/v1/clients".to_string(),
        format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
        "/api/v1/video-sessions".into(),
    ] {
        let response = app.get_auth(&path, &operator).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("Ben") && !body.contains("ben@"), "{path}");
    }
}
