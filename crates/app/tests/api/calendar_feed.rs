use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::audit::all_rows;
use crate::clients::add_client;
use crate::helpers::{TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    the_feed_is_valid_icalendar_without_clients_or_invitation_tokens,
    session_titles_show_only_when_the_therapist_chooses,
    a_rotated_secret_gives_404_on_the_old_url,
    a_feed_turned_off_gives_404,
    another_therapists_sessions_never_appear,
    each_fetch_of_the_feed_is_audited_with_ids_only,
    an_unknown_time_zone_is_refused_on_the_profile_and_at_sign_up,
    the_profile_page_turns_the_feed_on_and_off_with_the_csrf_token,
    a_feed_fetched_more_than_sixty_times_an_hour_is_refused,
);

fn in_hours(app: &TestApp, hours: i64) -> String {
    (app.clock.now() + chrono::Duration::hours(hours)).to_rfc3339()
}

/// A therapist with two clients and two sessions (1:1 and group); the token.
async fn therapist_with_sessions(app: &TestApp, email: &str) -> String {
    let token = app.token_for(email).await;
    let ben = add_client(app, &token, "Ben Okafor", &format!("ben.{email}")).await;
    let carla = add_client(app, &token, "Carla Diaz", &format!("carla.{email}")).await;
    let sessions = [
        json!({"kind": "individual", "starts_at": in_hours(app, 24), "duration_minutes": 50,
               "time_zone": "America/Chicago", "client_ids": [ben["id"]]}),
        json!({"kind": "group", "title": "Grief support", "starts_at": in_hours(app, 48),
               "duration_minutes": 90, "time_zone": "UTC", "client_ids": [ben["id"], carla["id"]]}),
    ];
    for body in sessions {
        let response = app.post_auth("/api/v1/video-sessions", &token, &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    token
}

async fn turn_on(app: &TestApp, token: &str, body: Value) -> String {
    let response = app
        .post_auth("/api/v1/me/calendar-feed", token, &body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["url"].as_str().unwrap().to_string()
}

/// (status, content type, body) of a feed URL, fetched with no credentials.
async fn fetch(url: &str) -> (StatusCode, String, String) {
    let response = reqwest::get(url).await.unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status(), kind, response.text().await.unwrap())
}

/// One content line, unfolded: (name, parameters, value).
type Line = (String, String, String);

/// A strict check of RFC 5545's structure: CRLF ends, lines of at most 75
/// octets, nested BEGIN/END, the properties every calendar and event must
/// have, UTC date-times. Returns the events' lines.
fn parse_icalendar(ics: &str) -> Vec<Vec<Line>> {
    assert!(ics.ends_with("\r\n"), "ends with CRLF");
    assert!(
        !ics.replace("\r\n", "").contains(['\r', '\n']),
        "only CRLF line ends"
    );
    for raw in ics.split("\r\n") {
        assert!(raw.len() <= 75, "{raw:?} is longer than 75 octets");
    }
    let unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "");
    let lines: Vec<Line> = unfolded
        .trim_end_matches("\r\n")
        .split("\r\n")
        .map(|line| {
            let (head, value) = line.split_once(':').expect("a line has a colon");
            let (name, params) = head.split_once(';').unwrap_or((head, ""));
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'),
                "bad property name {name:?}"
            );
            (name.to_string(), params.to_string(), value.to_string())
        })
        .collect();
    let mut stack: Vec<String> = Vec::new();
    let mut events = Vec::new();
    let mut calendar_props = Vec::new();
    let mut current: Vec<Line> = Vec::new();
    for line in &lines {
        match line.0.as_str() {
            "BEGIN" => {
                if line.2 == "VEVENT" {
                    assert_eq!(stack, ["VCALENDAR"], "events sit in the calendar");
                    current.clear();
                } else {
                    assert!(stack.is_empty() && line.2 == "VCALENDAR", "one calendar");
                }
                stack.push(line.2.clone());
            }
            "END" => {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(line.2.as_str()),
                    "END matches BEGIN"
                );
                if line.2 == "VEVENT" {
                    events.push(std::mem::take(&mut current));
                }
            }
            _ if stack.len() == 2 => current.push(line.clone()),
            _ if stack.len() == 1 => calendar_props.push(line.0.clone()),
            _ => panic!("{line:?} is outside the calendar"),
        }
    }
    assert!(stack.is_empty(), "every BEGIN is ended");
    assert_eq!(lines.first().map(|l| l.2.as_str()), Some("VCALENDAR"));
    for required in ["VERSION", "PRODID"] {
        assert_eq!(
            calendar_props.iter().filter(|p| *p == required).count(),
            1,
            "{required}"
        );
    }
    for event in &events {
        for required in ["UID", "DTSTAMP", "DTSTART", "DTEND"] {
            let found: Vec<&Line> = event.iter().filter(|l| l.0 == required).collect();
            assert_eq!(found.len(), 1, "one {required} per event");
            if required != "UID" {
                let v = &found[0].2;
                assert!(
                    chrono::NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%SZ").is_ok(),
                    "{required} {v:?} is a UTC date-time"
                );
            }
        }
        let start = value(event, "DTSTART");
        assert!(value(event, "DTEND") > start, "ends after it starts");
    }
    events
}

fn value<'a>(event: &'a [Line], name: &str) -> &'a str {
    &event.iter().find(|l| l.0 == name).unwrap().2
}

fn summaries(events: &[Vec<Line>]) -> Vec<String> {
    events
        .iter()
        .map(|e| value(e, "SUMMARY").to_string())
        .collect()
}

async fn the_feed_is_valid_icalendar_without_clients_or_invitation_tokens(app: TestApp) {
    let token = therapist_with_sessions(&app, "ana@example.com").await;
    let join_token = app.mailed_token("ben.ana@example.com", "/join/");
    let url = turn_on(&app, &token, json!({})).await;
    assert!(url.starts_with(&format!("{}/calendar/", app.base)) && url.ends_with(".ics"));

    let (status, kind, ics) = fetch(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/calendar"), "{kind}");
    let events = parse_icalendar(&ics);
    assert_eq!(summaries(&events), ["Session", "Group session"]);
    for secret in [
        "Ben",
        "Okafor",
        "Carla",
        "Diaz",
        "example.com",
        "Grief",
        "/join/",
    ] {
        assert!(!ics.contains(secret), "the feed holds {secret:?}");
    }
    assert!(
        !ics.contains(&join_token),
        "the feed holds an invitation token"
    );
}

async fn session_titles_show_only_when_the_therapist_chooses(app: TestApp) {
    let token = therapist_with_sessions(&app, "ana@example.com").await;
    let url = turn_on(&app, &token, json!({"show_titles": true})).await;
    let events = parse_icalendar(&fetch(&url).await.2);
    assert_eq!(summaries(&events), ["Individual session", "Grief support"]);

    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["calendar_feed"]["show_titles"], true);
    // A bare POST (no body) makes a new address with generic titles again.
    let response = app
        .api
        .post(app.url("/api/v1/me/calendar-feed"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let url: String = response.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .into();
    assert_eq!(
        summaries(&parse_icalendar(&fetch(&url).await.2)),
        ["Session", "Group session"]
    );
}

async fn a_rotated_secret_gives_404_on_the_old_url(app: TestApp) {
    let token = therapist_with_sessions(&app, "ana@example.com").await;
    let old = turn_on(&app, &token, json!({})).await;
    let new = turn_on(&app, &token, json!({})).await;
    assert_ne!(old, new);
    assert_eq!(fetch(&old).await.0, StatusCode::NOT_FOUND);
    assert_eq!(fetch(&new).await.0, StatusCode::OK);
    // Near misses are not found either.
    for wrong in [new.trim_end_matches(".ics").to_string(), format!("{new}x")] {
        assert_eq!(fetch(&wrong).await.0, StatusCode::NOT_FOUND, "{wrong}");
    }
}

async fn a_feed_turned_off_gives_404(app: TestApp) {
    let token = therapist_with_sessions(&app, "ana@example.com").await;
    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["calendar_feed"],
        json!({"enabled": false, "created_at": null, "show_titles": false})
    );

    let url = turn_on(&app, &token, json!({})).await;
    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["calendar_feed"]["enabled"], true);
    assert!(me["calendar_feed"]["created_at"].is_string());
    assert!(
        !me.to_string().contains("/calendar/"),
        "the URL is shown only once"
    );

    let response = app
        .delete_auth("/api/v1/me/calendar-feed", &token, None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(fetch(&url).await.0, StatusCode::NOT_FOUND);
    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["calendar_feed"]["enabled"], false);
}

async fn another_therapists_sessions_never_appear(app: TestApp) {
    let ana = therapist_with_sessions(&app, "ana@example.com").await;
    let bea = app.token_for("bea@example.com").await;
    let ana_url = turn_on(&app, &ana, json!({})).await;
    let bea_url = turn_on(&app, &bea, json!({})).await;
    assert_eq!(parse_icalendar(&fetch(&ana_url).await.2).len(), 2);
    assert!(parse_icalendar(&fetch(&bea_url).await.2).is_empty());
    // Bea turning her feed off leaves Ana's alone.
    app.delete_auth("/api/v1/me/calendar-feed", &bea, None)
        .await;
    assert_eq!(fetch(&ana_url).await.0, StatusCode::OK);
}

async fn each_fetch_of_the_feed_is_audited_with_ids_only(app: TestApp) {
    let token = therapist_with_sessions(&app, "ana@example.com").await;
    let me: Value = app
        .get_auth("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap();
    let url = turn_on(&app, &token, json!({})).await;
    fetch(&url).await;
    fetch(&url).await;
    let secret = url.rsplit('/').next().unwrap().trim_end_matches(".ics");
    let rows = all_rows(app.store()).await;
    let fetched: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "calendar_feed_fetched")
        .collect();
    assert_eq!(fetched.len(), 2);
    for row in &fetched {
        assert_eq!(row.actor_id.as_deref(), Some(id));
        assert_eq!(row.target_id.as_deref(), Some(id));
    }
    assert!(rows.iter().any(|r| r.action == "calendar_feed_enabled"));
    for row in &rows {
        let text = format!("{:?} {:?} {:?}", row.actor_id, row.target_id, row.source);
        assert!(!text.contains(secret) && !text.contains('@'), "{text}");
    }
}

async fn an_unknown_time_zone_is_refused_on_the_profile_and_at_sign_up(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let response = app
        .patch_auth(
            "/api/v1/me",
            &token,
            &json!({"time_zone": "Mars/Olympus_Mons"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert!(body.to_string().contains("time_zone"), "{body}");
    let response = app
        .patch_auth("/api/v1/me", &token, &json!({"time_zone": "Europe/Lisbon"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let signed_up = |zone: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/therapists",
                &json!({"name": "Cy", "email": format!("cy.{}@example.com", zone.len()),
                        "password": PASSWORD, "time_zone": zone}),
            )
            .await
            .status()
        }
    };
    assert_eq!(
        signed_up("Nowhere/Atlantis").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(signed_up("Asia/Kolkata").await, StatusCode::CREATED);
    let cy = app
        .store()
        .account_by_email("cy.12@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cy.time_zone, "Asia/Kolkata");

    let (_, html) = app.page("/sign-up").await;
    assert!(
        html.contains("name=\"time_zone\""),
        "sign-up asks for the time zone"
    );
}

async fn the_profile_page_turns_the_feed_on_and_off_with_the_csrf_token(app: TestApp) {
    therapist_with_sessions(&app, "ana@example.com").await;
    app.browser_sign_in("ana@example.com", PASSWORD).await;
    let (status, html) = app.page("/profile").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/profile/calendar\""));

    let response = app
        .browser
        .post(app.url("/profile/calendar/on"))
        .form(&[("csrf_token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let html = app
        .submit("/profile/calendar", "/profile/calendar/on", &[])
        .await
        .text()
        .await
        .unwrap();
    let start = html
        .find(&format!("value=\"{}/calendar/", app.base))
        .unwrap()
        + 7;
    let url = &html[start..start + html[start..].find('"').unwrap()];
    assert_eq!(fetch(url).await.0, StatusCode::OK);
    let (_, again) = app.page("/profile/calendar").await;
    assert!(!again.contains(url), "the URL is shown once");
    assert!(again.contains("Turn off the calendar feed"));

    app.submit("/profile/calendar", "/profile/calendar/off", &[])
        .await;
    assert_eq!(fetch(url).await.0, StatusCode::NOT_FOUND);
}

async fn a_feed_fetched_more_than_sixty_times_an_hour_is_refused(app: TestApp) {
    let token = app.token_for("ana@example.com").await;
    let url = turn_on(&app, &token, json!({})).await;
    for _ in 0..60 {
        assert_eq!(fetch(&url).await.0, StatusCode::OK);
    }
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // The refused fetch served nothing, so it is not in the audit log.
    let rows = all_rows(app.store()).await;
    let fetched = rows.iter().filter(|r| r.action == "calendar_feed_fetched");
    assert_eq!(fetched.count(), 60);
    // An hour later the calendar app is served again.
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(fetch(&url).await.0, StatusCode::OK);
}
