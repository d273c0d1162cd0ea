//! The session clock over the room's socket: the server's times reach the
//! therapist (and clients only once shown), only the therapist extends, an
//! extension is stored and audited unless it runs into the next session,
//! and the scheduled end does not close a room the therapist is in.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{client, expect, expect_where, hello, send, setup, therapist, Setup, Ws};

on_both_backends!(
    the_therapist_gets_the_servers_clock_and_clients_only_once_it_is_shown,
    only_the_therapist_extends_and_an_extension_is_stored_and_audited,
    an_extension_into_the_next_session_is_refused_with_a_message,
    the_room_runs_over_while_the_therapist_stays_and_ends_when_they_leave,
    a_room_that_runs_over_closes_at_the_late_bound_it_showed,
);

/// The therapist and the first `admitted` clients in the room.
async fn in_the_room(app: &TestApp, s: &Setup, admitted: usize) -> (Ws, Vec<Ws>) {
    let mut host = therapist(app, s).await;
    let mut clients = Vec::new();
    for token in &s.tokens[..admitted] {
        clients.push(admitted_client(app, &mut host, token).await);
    }
    (host, clients)
}

async fn admitted_client(app: &TestApp, host: &mut Ws, token: &str) -> Ws {
    let mut ws = client(app, token).await.unwrap();
    hello(&mut ws).await;
    let welcome = expect(&mut ws, "welcome").await;
    send(host, json!({"type": "admit", "id": welcome["you"]})).await;
    expect(&mut ws, "admitted").await;
    ws
}

/// Every message up to the answer to a ping: what the socket was sent so far.
async fn drain(ws: &mut Ws) -> Vec<Value> {
    send(ws, json!({"type": "ping"})).await;
    let mut seen = Vec::new();
    let read = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    if value["type"] == "pong" {
                        return;
                    }
                    seen.push(value);
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a pong within 10 s");
    seen
}

fn types(seen: &[Value]) -> Vec<&str> {
    seen.iter().filter_map(|m| m["type"].as_str()).collect()
}

async fn the_therapist_gets_the_servers_clock_and_clients_only_once_it_is_shown(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        10,
    )
    .await;
    let mut host = therapist(&app, &s).await;
    let clock = expect(&mut host, "clock").await;
    let row = app
        .store()
        .session_by_id(&s.session.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(clock["starts_at"], row.starts_at);
    assert_eq!(clock["ends_at"], row.starts_at + 30 * 60);
    assert_eq!(clock["closes_at"], row.starts_at + 45 * 60);
    assert_eq!(clock["shown"], false);
    // The server's now, so a page with a wrong clock still counts right.
    let now = clock["now"].as_i64().unwrap();
    assert!((now - app.clock.unix()).abs() <= 2, "{clock}");

    let mut ben = admitted_client(&app, &mut host, &s.tokens[0]).await;
    assert!(!types(&drain(&mut ben).await).contains(&"clock"));

    // Clients cannot show it themselves, nor extend; bad input is refused.
    send(&mut ben, json!({"type": "show_clock", "on": true})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "not_allowed");
    send(&mut ben, json!({"type": "extend"})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "not_allowed");
    send(&mut host, json!({"type": "show_clock", "on": "please"})).await;
    assert_eq!(expect(&mut host, "error").await["code"], "bad_message");
    send(&mut host, json!({"type": "show_clock"})).await;
    assert_eq!(expect(&mut host, "error").await["code"], "bad_message");
    assert!(!types(&drain(&mut ben).await).contains(&"clock"));

    // Shown: Ben gets the same clock, and so does a client let in later.
    send(&mut host, json!({"type": "show_clock", "on": true})).await;
    let shown = expect(&mut ben, "clock").await;
    assert_eq!(shown["shown"], true);
    assert_eq!(shown["ends_at"], clock["ends_at"]);
    assert_eq!(expect(&mut host, "clock").await["shown"], true);
    let mut cleo = admitted_client(&app, &mut host, &s.tokens[1]).await;
    assert_eq!(
        expect(&mut cleo, "clock").await["ends_at"],
        clock["ends_at"]
    );

    // Hidden again: clients are told, the therapist keeps theirs.
    send(&mut host, json!({"type": "show_clock", "on": false})).await;
    expect(&mut ben, "clock_hidden").await;
    expect(&mut cleo, "clock_hidden").await;
    assert_eq!(expect(&mut host, "clock").await["shown"], false);
}

async fn only_the_therapist_extends_and_an_extension_is_stored_and_audited(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "individual",
        &["ben@example.com"],
        10,
    )
    .await;
    let (mut host, mut clients) = in_the_room(&app, &s, 1).await;
    let before = expect(&mut host, "clock").await;
    send(&mut clients[0], json!({"type": "extend"})).await;
    assert_eq!(
        expect(&mut clients[0], "error").await["code"],
        "not_allowed"
    );
    send(&mut host, json!({"type": "extend", "minutes": 600})).await;
    assert_eq!(expect(&mut host, "error").await["code"], "bad_message");

    send(&mut host, json!({"type": "extend"})).await;
    let after = expect_where(&mut host, "clock", |c| c["ends_at"] != before["ends_at"]).await;
    let moved = after["ends_at"].as_i64().unwrap() - before["ends_at"].as_i64().unwrap();
    assert_eq!(moved, 15 * 60);
    assert_eq!(
        after["closes_at"].as_i64().unwrap() - before["closes_at"].as_i64().unwrap(),
        15 * 60
    );

    let row = app
        .store()
        .session_by_id(&s.session.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.duration_minutes, 45);
    assert_eq!(row.ends_at(), after["ends_at"].as_i64().unwrap());
    let audit: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    assert_eq!(
        audit.iter().filter(|a| *a == "session_extended").count(),
        1,
        "{audit:?}"
    );
    // The therapist's API shows the new length too.
    let view: Value = app
        .get_auth(&format!("/api/v1/video-sessions/{}", s.session), &s.bearer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["duration_minutes"], 45);
}

/// Another session of the same therapist with the same client.
async fn schedule(app: &TestApp, s: &Setup, in_minutes: i64) -> String {
    let starts = (app.clock.now() + chrono::Duration::minutes(in_minutes)).to_rfc3339();
    let response = app
        .post_auth(
            "/api/v1/video-sessions",
            &s.bearer,
            &json!({"kind": "individual", "starts_at": starts, "duration_minutes": 30,
                    "time_zone": "UTC", "client_ids": [s.clients[0]]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn an_extension_into_the_next_session_is_refused_with_a_message(app: TestApp) {
    // This one runs from +10 to +40 minutes; the next starts at +50.
    let s = setup(
        &app,
        "ana@example.com",
        "individual",
        &["ben@example.com"],
        10,
    )
    .await;
    let next = schedule(&app, &s, 50).await;
    // One much later does not matter.
    schedule(&app, &s, 600).await;
    let mut host = therapist(&app, &s).await;
    let clock = expect(&mut host, "clock").await;

    send(&mut host, json!({"type": "extend"})).await;
    let refused = expect(&mut host, "error").await;
    assert_eq!(refused["code"], "next_session");
    let text = refused["message"].as_str().unwrap();
    assert!(text.contains("next session starts in 50 minutes"), "{text}");
    let row = app
        .store()
        .session_by_id(&s.session.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.duration_minutes, 30, "nothing stored");

    // Cancelled, the next session no longer stands in the way.
    let cancelled = app
        .delete_auth(&format!("/api/v1/video-sessions/{next}"), &s.bearer, None)
        .await;
    assert!(cancelled.status().is_success());
    send(&mut host, json!({"type": "extend"})).await;
    let after = expect_where(&mut host, "clock", |c| c["ends_at"] != clock["ends_at"]).await;
    assert_eq!(
        after["ends_at"].as_i64().unwrap(),
        clock["ends_at"].as_i64().unwrap() + 15 * 60
    );
}

async fn the_room_runs_over_while_the_therapist_stays_and_ends_when_they_leave(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        10,
    )
    .await;
    let (mut host, mut clients) = in_the_room(&app, &s, 1).await;
    expect(&mut host, "clock").await;
    // A minute past the scheduled end.
    app.clock.advance(chrono::Duration::minutes(41));
    // The therapist's clock is sent again as it crosses the end.
    let now_over = |c: &Value| c["now"].as_i64().unwrap() >= c["ends_at"].as_i64().unwrap();
    expect_where(&mut host, "clock", now_over).await;
    // Several ticks later Ben is still in the room, and his link still
    // opens it (a reload), though the scheduled time is over.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let seen = drain(&mut clients[0]).await;
    assert!(!types(&seen).contains(&"ended"), "{seen:?}");
    let mut cleo = admitted_client(&app, &mut host, &s.tokens[1]).await;

    // The therapist leaves: the room ends as time ran out, with the survey.
    send(&mut host, json!({"type": "leave"})).await;
    for ws in [&mut clients[0], &mut cleo] {
        let ended = expect(ws, "ended").await;
        assert_eq!(ended["message"], "The time for this session is over.");
        assert!(ended["survey"].is_string(), "{ended}");
    }
    let row = app
        .store()
        .session_by_id(&s.session.as_str().into())
        .await
        .unwrap()
        .unwrap();
    assert!(row.ended_at.is_some());
    assert_eq!(
        client(&app, &s.tokens[0]).await.err(),
        Some(StatusCode::GONE)
    );
}

async fn a_room_that_runs_over_closes_at_the_late_bound_it_showed(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "individual",
        &["ben@example.com"],
        10,
    )
    .await;
    let (mut host, mut clients) = in_the_room(&app, &s, 1).await;
    let clock = expect(&mut host, "clock").await;
    let closes_at = clock["closes_at"].as_i64().unwrap();
    // Just before the late bound the room is still there.
    app.clock
        .advance(chrono::Duration::seconds(closes_at - app.clock.unix() - 30));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!types(&drain(&mut clients[0]).await).contains(&"ended"));
    // At it, the room ends for everyone, therapist included.
    app.clock.advance(chrono::Duration::seconds(31));
    for ws in [&mut host, &mut clients[0]] {
        let ended = expect(ws, "ended").await;
        assert_eq!(ended["message"], "The time for this session is over.");
    }
    assert_eq!(
        client(&app, &s.tokens[0]).await.err(),
        Some(StatusCode::GONE)
    );
}
