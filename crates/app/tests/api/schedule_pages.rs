use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    a_therapist_adds_a_client_and_schedules_a_session_from_the_pages,
    another_therapists_client_and_session_pages_are_not_found,
);

async fn signed_in_browser(app: &TestApp, email: &str) {
    app.verified_therapist(email).await;
    assert_eq!(
        app.browser_sign_in(email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

fn first_link(html: &str, prefix: &str) -> String {
    let start = html.find(&format!("href=\"{prefix}")).expect("a link") + 6;
    html[start..].split('"').next().unwrap().to_string()
}

async fn a_therapist_adds_a_client_and_schedules_a_session_from_the_pages(app: TestApp) {
    signed_in_browser(&app, "ana@example.com").await;
    let added = app
        .submit(
            "/clients",
            "/clients",
            &[("name", "Ben Okafor"), ("email", "ben@example.com")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let bad = app
        .submit(
            "/clients",
            "/clients",
            &[("name", "Ben Okafor"), ("email", "BEN@example.com")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::CONFLICT);
    let (_, list) = app.page("/clients?search=oka").await;
    assert!(list.contains("Ben Okafor"));
    let client_path = first_link(&list, "/clients/");
    let client_id = client_path.trim_start_matches("/clients/").to_string();

    let (status, form) = app.page("/sessions/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Ben Okafor"));
    let date = (app.clock.now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let missing_client = app
        .submit(
            "/sessions/new",
            "/sessions/new",
            &[
                ("kind", "individual"),
                ("date", &date),
                ("time", "10:00"),
                ("duration_minutes", "50"),
                ("time_zone", "America/Chicago"),
            ],
        )
        .await;
    assert_eq!(missing_client.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let created = app
        .submit(
            "/sessions/new",
            "/sessions/new",
            &[
                ("kind", "individual"),
                ("client_ids", &client_id),
                ("title", "Intake"),
                ("date", &date),
                ("time", "10:00"),
                ("duration_minutes", "50"),
                ("time_zone", "America/Chicago"),
                ("weekly_occurrences", "1"),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let session_path = created.headers()["location"].to_str().unwrap().to_string();
    let (status, page) = app.page(&session_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Intake") && page.contains("Ben Okafor") && page.contains("10:00 AM"));
    assert_eq!(app.mail_to("ben@example.com").len(), 1);

    let (_, dashboard) = app.page("/dashboard").await;
    assert!(dashboard.contains("Intake"));

    let moved = app
        .submit(
            &session_path,
            &format!("{session_path}/reschedule"),
            &[
                ("date", &date),
                ("time", "11:30"),
                ("duration_minutes", "60"),
            ],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    assert!(moved.text().await.unwrap().contains("11:30 AM"));
    assert_eq!(app.mail_to("ben@example.com").len(), 2);

    let cancelled = app
        .submit(&session_path, &format!("{session_path}/cancel"), &[])
        .await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.page(&session_path).await;
    assert!(page.contains("cancelled"));
    let mails = app.mail_to("ben@example.com");
    assert!(mails.last().unwrap().subject.starts_with("Cancelled:"));
}

async fn another_therapists_client_and_session_pages_are_not_found(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let client = crate::clients::add_client(&app, &token, "Ben Okafor", "ben@example.com").await;
    let client_id = client["id"].as_str().unwrap();
    let session: Value = app.post_auth("/api/v1/video-sessions", &token, &serde_json::json!({"kind": "individual", "starts_at": (app.clock.now() + chrono::Duration::days(2)).to_rfc3339(),
                                  "duration_minutes": 50, "time_zone": "UTC", "client_ids": [client_id]})).await
        .json()
        .await
        .unwrap();
    signed_in_browser(&app, "bea@example.com").await;
    let session_id = session["id"].as_str().unwrap();
    for path in [
        format!("/clients/{client_id}"),
        format!("/sessions/{session_id}"),
    ] {
        let (status, html) = app.page(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!html.contains("Ben"));
    }
    let deleted = app
        .submit("/clients", &format!("/clients/{client_id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::NOT_FOUND);
    let cancelled = app
        .submit("/clients", &format!("/sessions/{session_id}/cancel"), &[])
        .await;
    assert_eq!(cancelled.status(), StatusCode::NOT_FOUND);
    let (_, list) = app.page("/clients").await;
    assert!(!list.contains("Ben"));
    let mine: Value = app
        .get_auth(&format!("/api/v1/video-sessions/{session_id}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["status"], "scheduled");
}
