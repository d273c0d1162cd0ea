//! Values that look fine to a parser but break something later are refused
//! at the edge: unknown time zones, start times past two years or on a leap
//! second, control characters in one-line fields.

use chrono::{Datelike, Duration};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::clients::add_client;
use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    an_unknown_time_zone_is_refused_on_the_profile,
    start_times_must_be_real_and_within_two_years,
    titles_refuse_control_characters_and_notes_keep_line_breaks
);

async fn refused_field(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    body["error"]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn an_unknown_time_zone_is_refused_on_the_profile(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let bad = app
        .patch_auth(
            "/api/v1/me",
            &token,
            &json!({"time_zone": "Mars/Olympus_Mons"}),
        )
        .await;
    assert_eq!(refused_field(bad).await, "time_zone");
    let good = app
        .patch_auth("/api/v1/me", &token, &json!({"time_zone": "Europe/Berlin"}))
        .await;
    assert_eq!(good.status(), StatusCode::OK);
}

fn session(client: &str, starts_at: &str, title: &str, notes: &str) -> Value {
    json!({"kind": "individual", "starts_at": starts_at, "duration_minutes": 50,
           "time_zone": "America/Chicago", "client_ids": [client],
           "title": title, "notes": notes})
}

async fn start_times_must_be_real_and_within_two_years(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let client = add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let client = client["id"].as_str().unwrap();
    let schedule = |starts_at: String| {
        let body = session(client, &starts_at, "", "");
        let (app, token) = (&app, &token);
        async move { app.post_auth("/api/v1/video-sessions", token, &body).await }
    };
    let far = (app.clock.now() + Duration::days(3 * 365)).to_rfc3339();
    assert_eq!(refused_field(schedule(far).await).await, "starts_at");
    assert_eq!(
        refused_field(schedule("9999-12-31T10:00:00Z".into()).await).await,
        "starts_at"
    );
    let next_year = app.clock.now().year() + 1;
    let leap = format!("{next_year}-06-30T23:59:60Z");
    assert_eq!(refused_field(schedule(leap).await).await, "starts_at");
    let fine = (app.clock.now() + Duration::days(700)).to_rfc3339();
    assert_eq!(schedule(fine).await.status(), StatusCode::CREATED);
}

async fn titles_refuse_control_characters_and_notes_keep_line_breaks(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let client = add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let client = client["id"].as_str().unwrap();
    let starts_at = (app.clock.now() + Duration::days(1)).to_rfc3339();
    for title in [
        "Group\u{0}",
        "Group\r\nBcc: x@example.com",
        "Group\u{1b}[2J",
    ] {
        let body = session(client, &starts_at, title, "");
        let response = app.post_auth("/api/v1/video-sessions", &token, &body).await;
        assert_eq!(refused_field(response).await, "title", "{title:?}");
    }
    let body = session(client, &starts_at, "Check-in", "line one\nline two");
    let response = app.post_auth("/api/v1/video-sessions", &token, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = session(client, &starts_at, "Check-in", "nul \u{0} here");
    let response = app.post_auth("/api/v1/video-sessions", &token, &body).await;
    assert_eq!(refused_field(response).await, "notes");
    // A ticket's subject is one line too, on the page that opens it.
    let (status, _) = app.page("/support").await;
    assert!(status == StatusCode::OK || status == StatusCode::SEE_OTHER);
}
