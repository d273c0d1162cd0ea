use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::clients::add_client;
use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    scheduling_an_individual_session_mails_a_calendar_invitation,
    group_invitations_never_show_one_client_to_another,
    scheduling_rules_are_enforced_with_a_named_field,
    changing_the_time_mails_an_update_and_removing_a_client_cancels_their_link,
    cancelling_a_session_tells_every_client_and_ends_their_links,
    a_join_link_works_only_in_its_window,
    a_weekly_series_invites_a_week_ahead,
    reminders_go_out_once_even_across_a_restart,
    another_therapist_cannot_see_or_change_a_session,
    an_invitation_can_be_resent,
);

fn in_hours(app: &TestApp, hours: i64) -> String {
    (app.clock.now() + chrono::Duration::hours(hours)).to_rfc3339()
}

async fn schedule(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post_auth("/api/v1/video-sessions", token, &body).await
}

async fn scheduled(app: &TestApp, token: &str, body: Value) -> Value {
    let response = schedule(app, token, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// A therapist with a token and one client; returns (token, client id).
async fn therapist_with_client(app: &TestApp) -> (String, String) {
    let token = app.token_for("ana@example.com").await;
    let client = add_client(app, &token, "Ben Okafor", "ben@example.com").await;
    (token, client["id"].as_str().unwrap().to_string())
}

fn individual(app: &TestApp, client: &str, hours: i64) -> Value {
    json!({"kind": "individual", "starts_at": in_hours(app, hours), "duration_minutes": 50,
           "time_zone": "America/Chicago", "client_ids": [client]})
}

async fn scheduling_an_individual_session_mails_a_calendar_invitation(app: TestApp) {
    let (token, client) = therapist_with_client(&app).await;
    let session = scheduled(&app, &token, individual(&app, &client, 48)).await;
    assert_eq!(session["kind"], "individual");
    assert_eq!(session["title"], "Individual session");
    assert_eq!(session["duration_minutes"], 50);
    assert!(session["room_url"].as_str().unwrap().starts_with(&app.base));
    assert_eq!(
        session["participants"],
        json!([{"client_id": client, "invitation_status": "sent"}])
    );

    let mails = app.mail_to("ben@example.com");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.subject.contains("Ana Ruiz"), "{}", mail.subject);
    assert!(
        !mail.subject.contains("Ben"),
        "the subject does not name the client"
    );
    assert!(mail.text.contains(&format!("{}/join/", app.base)));
    let ics = mail.ics.as_ref().expect("an .ics attachment");
    let id = session["id"].as_str().unwrap();
    assert!(ics.contains("METHOD:REQUEST"));
    assert!(ics.contains(&format!("UID:{id}@regroup")));
    assert!(ics.contains("SEQUENCE:0"));
    assert!(ics.contains("BEGIN:VEVENT") && ics.contains("END:VCALENDAR"));
    let start =
        chrono::DateTime::parse_from_rfc3339(session["starts_at"].as_str().unwrap()).unwrap();
    assert!(ics.contains(&format!("DTSTART:{}", start.format("%Y%m%dT%H%M%SZ"))));
}

async fn group_invitations_never_show_one_client_to_another(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let mut ids = Vec::new();
    for (name, email) in [
        ("Ben Okafor", "ben@example.com"),
        ("Carla Reyes", "carla@example.com"),
        ("Dev Patel", "dev@example.com"),
    ] {
        ids.push(
            add_client(&app, &token, name, email).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let session = scheduled(
        &app,
        &token,
        json!({"kind": "group", "title": "Grief support", "starts_at": in_hours(&app, 30), "duration_minutes": 90,
               "time_zone": "America/Chicago", "client_ids": ids}),
    )
    .await;
    assert_eq!(session["participants"].as_array().unwrap().len(), 3);
    let mails = app.outbox();
    let invitations: Vec<_> = mails.iter().filter(|m| m.ics.is_some()).collect();
    assert_eq!(invitations.len(), 3);
    for mail in invitations {
        assert_eq!(mail.recipients.len(), 1, "one recipient per message");
        let whole = format!(
            "{} {} {}",
            mail.subject,
            mail.text,
            mail.ics.as_deref().unwrap_or_default()
        );
        for other in ["ben", "carla", "dev", "Ben", "Carla", "Dev"] {
            if !mail.to.starts_with(&other.to_lowercase()) {
                assert!(
                    !whole.contains(other),
                    "{other} appears in mail to {}",
                    mail.to
                );
            }
        }
    }
}

async fn scheduling_rules_are_enforced_with_a_named_field(app: TestApp) {
    let (token, client) = therapist_with_client(&app).await;
    let bea = app.token_for("bea@example.com").await;
    let foreign = add_client(&app, &bea, "Zed", "zed@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut many = Vec::new();
    for i in 0..16 {
        many.push(
            add_client(
                &app,
                &token,
                &format!("Client {i}"),
                &format!("c{i}@example.com"),
            )
            .await["id"]
                .clone(),
        );
    }
    let base = individual(&app, &client, 48);
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("starts_at", json!(in_hours(&app, -1))), "starts_at"),
        (with("starts_at", json!("tomorrow at noon")), "starts_at"),
        (with("duration_minutes", json!(10)), "duration_minutes"),
        (with("duration_minutes", json!(241)), "duration_minutes"),
        (with("time_zone", json!("Mars/Olympus")), "time_zone"),
        (with("kind", json!("party")), "kind"),
        (with("client_ids", json!([])), "client_ids"),
        (with("client_ids", json!([client, many[0]])), "client_ids"),
        (with("client_ids", json!([foreign])), "client_ids"),
        (
            with(
                "client_ids",
                json!(["00000000-0000-0000-0000-000000000000"]),
            ),
            "client_ids",
        ),
        (
            json!({"kind": "group", "starts_at": in_hours(&app, 48), "duration_minutes": 60, "time_zone": "UTC", "client_ids": many}),
            "client_ids",
        ),
        (with("weekly_occurrences", json!(0)), "weekly_occurrences"),
    ];
    let mut messages = Vec::new();
    for (body, field) in cases {
        let response = schedule(&app, &token, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}");
        if field == "client_ids" {
            messages.push(error["error"]["message"].as_str().unwrap().to_string());
        }
    }
    // A foreign id and an unknown id read the same: nothing hints that it exists.
    assert_eq!(messages[2], messages[3]);
    let list: Value = app
        .get_auth("/api/v1/video-sessions", &token)
        .await
        .json()
        .await
        .unwrap();
    assert!(list["video_sessions"].as_array().unwrap().is_empty());
}

async fn changing_the_time_mails_an_update_and_removing_a_client_cancels_their_link(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let ben = add_client(&app, &token, "Ben Okafor", "ben@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let carla = add_client(&app, &token, "Carla Reyes", "carla@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let session = scheduled(
        &app,
        &token,
        json!({"kind": "group", "starts_at": in_hours(&app, 48), "duration_minutes": 60, "time_zone": "UTC", "client_ids": [ben, carla]}),
    )
    .await;
    let path = format!("/api/v1/video-sessions/{}", session["id"].as_str().unwrap());
    let carla_link = app
        .mailed_link("carla@example.com", "/join/")
        .trim_start_matches(&app.base)
        .to_string();

    let moved = app
        .patch_auth(&path, &token, &json!({"starts_at": in_hours(&app, 72)}))
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let update = app.mail_to("ben@example.com").pop().unwrap();
    assert!(update.subject.starts_with("Updated:"), "{}", update.subject);
    let ics = update.ics.unwrap();
    assert!(ics.contains("SEQUENCE:1") && ics.contains("METHOD:REQUEST"));

    let removed = app
        .patch_auth(&path, &token, &json!({"client_ids": [ben]}))
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    let body: Value = removed.json().await.unwrap();
    let statuses: Vec<&str> = body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["invitation_status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"revoked"));
    let cancel = app.mail_to("carla@example.com").pop().unwrap();
    assert!(cancel.subject.starts_with("Cancelled:"));
    assert!(cancel.ics.unwrap().contains("METHOD:CANCEL"));
    assert_eq!(app.page(&carla_link).await.0, StatusCode::GONE);
}

async fn cancelling_a_session_tells_every_client_and_ends_their_links(app: TestApp) {
    let (token, client) = therapist_with_client(&app).await;
    let session = scheduled(&app, &token, individual(&app, &client, 1)).await;
    let link = app
        .mailed_link("ben@example.com", "/join/")
        .trim_start_matches(&app.base)
        .to_string();
    assert_eq!(app.page(&link).await.0, StatusCode::OK);
    let path = format!("/api/v1/video-sessions/{}", session["id"].as_str().unwrap());
    let cancelled = app.delete_auth(&path, &token, None).await;
    assert_eq!(cancelled.status(), StatusCode::NO_CONTENT);
    let mail = app.mail_to("ben@example.com").pop().unwrap();
    assert!(mail.ics.unwrap().contains("STATUS:CANCELLED"));
    let (status, html) = app.page(&link).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("cancelled"));
    let after: Value = app.get_auth(&path, &token).await.json().await.unwrap();
    assert_eq!(after["status"], "cancelled");
    // Reminders for it never go out.
    app.clock.advance(chrono::Duration::hours(1));
    app.run_jobs().await;
    assert!(app
        .mail_to("ben@example.com")
        .iter()
        .all(|m| !m.subject.starts_with("Starting soon")));
}

async fn a_join_link_works_only_in_its_window(app: TestApp) {
    let (token, client) = therapist_with_client(&app).await;
    let session = scheduled(&app, &token, individual(&app, &client, 3)).await;
    let link = app
        .mailed_link("ben@example.com", "/join/")
        .trim_start_matches(&app.base)
        .to_string();
    let (status, html) = app.page(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("opens 30 minutes before"));
    assert!(html.contains("Ana Ruiz"));

    app.clock.advance(chrono::Duration::minutes(2 * 60 + 40));
    let (status, html) = app.page(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("You are expected"));
    let path = format!("/api/v1/video-sessions/{}", session["id"].as_str().unwrap());
    // Hours went by: the therapist signs in again.
    let token = app.fresh_token("ana@example.com").await;
    let now: Value = app.get_auth(&path, &token).await.json().await.unwrap();
    assert_eq!(now["participants"][0]["invitation_status"], "opened");

    app.clock.advance(chrono::Duration::minutes(80));
    assert_eq!(app.page(&link).await.0, StatusCode::GONE);
    assert_eq!(app.page("/join/not-a-token").await.0, StatusCode::NOT_FOUND);
}

async fn a_weekly_series_invites_a_week_ahead(app: TestApp) {
    let (token, client) = therapist_with_client(&app).await;
    let mut body = individual(&app, &client, 24);
    body["weekly_occurrences"] = json!(3);
    let first = scheduled(&app, &token, body).await;
    let list: Value = app
        .get_auth("/api/v1/video-sessions", &token)
        .await
        .json()
        .await
        .unwrap();
    let sessions = list["video_sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert!(sessions
        .iter()
        .all(|s| s["series_id"] == first["series_id"] && !s["series_id"].is_null()));
    let invited: Vec<&str> = sessions
        .iter()
        .map(|s| s["participants"][0]["invitation_status"].as_str().unwrap())
        .collect();
    assert_eq!(invited, ["sent", "pending", "pending"]);
    assert_eq!(app.mail_to("ben@example.com").len(), 1);
    // A week later the second invitation goes out by itself.
    app.clock.advance(chrono::Duration::days(1));
    app.run_jobs().await;
    let invitations = app
        .mail_to("ben@example.com")
        .into_iter()
        .filter(|m| m.ics.is_some())
        .count();
    assert_eq!(invitations, 2);
}

async fn reminders_go_out_once_even_across_a_restart(mut app: TestApp) {
    let (token, client) = therapist_with_client(&app).await;
    scheduled(&app, &token, individual(&app, &client, 48)).await;
    assert_eq!(app.run_jobs().await, 0, "nothing is due yet");
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::minutes(1));
    assert_eq!(app.run_jobs().await, 1);
    let reminders = |app: &TestApp, prefix: &str| {
        app.mail_to("ben@example.com")
            .iter()
            .filter(|m| m.subject.starts_with(prefix))
            .count()
    };
    assert_eq!(reminders(&app, "Reminder:"), 1);
    app.restart().await;
    assert_eq!(app.run_jobs().await, 0);
    assert_eq!(reminders(&app, "Reminder:"), 1);
    app.clock
        .advance(chrono::Duration::hours(23) + chrono::Duration::minutes(46));
    app.run_jobs().await;
    app.run_jobs().await;
    assert_eq!(reminders(&app, "Starting soon"), 1);
    assert_eq!(reminders(&app, "Reminder:"), 1);
}

async fn another_therapist_cannot_see_or_change_a_session(app: TestApp) {
    let (token, client) = therapist_with_client(&app).await;
    let session = scheduled(&app, &token, individual(&app, &client, 48)).await;
    let bea = app.token_for("bea@example.com").await;
    let path = format!("/api/v1/video-sessions/{}", session["id"].as_str().unwrap());
    assert_eq!(
        app.get_auth(&path, &bea).await.status(),
        StatusCode::NOT_FOUND
    );
    let patch = app
        .patch_auth(&path, &bea, &json!({"title": "Mine now"}))
        .await;
    assert_eq!(patch.status(), StatusCode::NOT_FOUND);
    let cancel = app.delete_auth(&path, &bea, None).await;
    assert_eq!(cancel.status(), StatusCode::NOT_FOUND);
    let resend = app
        .api
        .post(app.url(&format!("{path}/invitations/{client}/resend")))
        .bearer_auth(&bea)
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status(), StatusCode::NOT_FOUND);
    let list: Value = app
        .get_auth("/api/v1/video-sessions", &bea)
        .await
        .json()
        .await
        .unwrap();
    assert!(list["video_sessions"].as_array().unwrap().is_empty());
    let mine: Value = app.get_auth(&path, &token).await.json().await.unwrap();
    assert_eq!(mine["status"], "scheduled");
}

async fn an_invitation_can_be_resent(app: TestApp) {
    let (token, client) = therapist_with_client(&app).await;
    let session = scheduled(&app, &token, individual(&app, &client, 48)).await;
    let first = app.mailed_link("ben@example.com", "/join/");
    let path = format!(
        "/api/v1/video-sessions/{}/invitations/{client}/resend",
        session["id"].as_str().unwrap()
    );
    let resent = app
        .api
        .post(app.url(&path))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), StatusCode::ACCEPTED);
    assert_eq!(app.mail_to("ben@example.com").len(), 2);
    assert_eq!(
        app.mailed_link("ben@example.com", "/join/"),
        first,
        "the same personal link"
    );
}
