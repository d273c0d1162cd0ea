//! Changes made outside an open room reach it at once: cancelling the
//! session, taking a client off it, deleting the client, suspending the
//! therapist and shortening the session each tell an admitted client
//! `removed` or `ended` and close their socket within a second.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{client, expect, expect_where, hello, send, setup, therapist, Setup, Ws};

on_both_backends!(
    cancelling_the_session_ends_the_open_room,
    taking_a_client_off_the_session_removes_them_from_the_open_room,
    deleting_the_client_removes_them_from_the_open_room,
    suspending_the_therapist_ends_their_open_rooms,
    shortening_the_session_past_now_ends_the_open_room,
);

/// The therapist and the first `admitted` clients of `s`, all in the room.
async fn in_the_room(app: &TestApp, s: &Setup, admitted: usize) -> (Ws, Vec<Ws>) {
    let mut host = therapist(app, s).await;
    let mut clients = Vec::new();
    for token in &s.tokens[..admitted] {
        let mut ws = client(app, token).await.unwrap();
        hello(&mut ws).await;
        let welcome = expect(&mut ws, "welcome").await;
        let id = welcome["you"].as_str().unwrap().to_string();
        send(&mut host, json!({"type": "admit", "id": id})).await;
        expect(&mut ws, "admitted").await;
        clients.push(ws);
    }
    (host, clients)
}

/// Reads until `kind` arrives, then requires the socket to close; all of it
/// within a second of `since`.
async fn told_and_closed(ws: &mut Ws, kind: &str, since: Instant) -> Value {
    let read = async {
        let msg = loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    if value["type"] == kind {
                        break value;
                    }
                    assert!(
                        !["removed", "ended"].contains(&value["type"].as_str().unwrap_or("")),
                        "told {value} instead of {kind}"
                    );
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    panic!("the socket closed before {kind}")
                }
                Some(Ok(_)) => {}
            }
        };
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break msg,
                Some(Ok(_)) => {}
            }
        }
    };
    let msg = tokio::time::timeout(Duration::from_secs(1), read)
        .await
        .unwrap_or_else(|_| panic!("no {kind} and close within 1 s"));
    assert!(since.elapsed() < Duration::from_secs(1));
    msg
}

async fn cancelling_the_session_ends_the_open_room(app: TestApp) {
    let s = setup(&app, "ana@example.com", "group", &["ben@example.com"], 10).await;
    let (mut host, mut clients) = in_the_room(&app, &s, 1).await;
    let since = Instant::now();
    let response = app
        .delete_auth(
            &format!("/api/v1/video-sessions/{}", s.session),
            &s.bearer,
            None,
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let ended = told_and_closed(&mut clients[0], "ended", since).await;
    assert_eq!(ended["message"], "Your therapist cancelled this session.");
    told_and_closed(&mut host, "ended", since).await;
    assert_eq!(
        client(&app, &s.tokens[0]).await.err(),
        Some(StatusCode::GONE)
    );
}

async fn taking_a_client_off_the_session_removes_them_from_the_open_room(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        10,
    )
    .await;
    let (mut host, mut clients) = in_the_room(&app, &s, 2).await;
    let since = Instant::now();
    let response = app
        .patch_auth(
            &format!("/api/v1/video-sessions/{}", s.session),
            &s.bearer,
            &json!({"client_ids": [s.clients[1]]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    told_and_closed(&mut clients[0], "removed", since).await;
    // The others stay, and see Ben gone.
    expect_where(&mut host, "roster", |r| {
        r["people"].as_array().unwrap().len() == 2
    })
    .await;
    send(
        &mut clients[1],
        json!({"type": "chat", "text": "still here"}),
    )
    .await;
    expect(&mut host, "chat").await;
}

async fn deleting_the_client_removes_them_from_the_open_room(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        10,
    )
    .await;
    let (mut host, mut clients) = in_the_room(&app, &s, 2).await;
    let since = Instant::now();
    let response = app
        .delete_auth(
            &format!("/api/v1/clients/{}", s.clients[0]),
            &s.bearer,
            None,
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    told_and_closed(&mut clients[0], "removed", since).await;
    expect_where(&mut host, "roster", |r| {
        r["people"].as_array().unwrap().len() == 2
    })
    .await;
}

async fn suspending_the_therapist_ends_their_open_rooms(app: TestApp) {
    let s = setup(&app, "ana@example.com", "group", &["ben@example.com"], 10).await;
    let op = crate::site::operator(&app).await;
    // Whichever operator role may suspend, an admin may.
    sqlx::query("UPDATE accounts SET role = 'admin' WHERE email = 'oscar@regroup.example'")
        .execute(app.store().pool())
        .await
        .unwrap();
    let (mut host, mut clients) = in_the_room(&app, &s, 1).await;
    let therapist_id = app
        .store()
        .account_by_email("ana@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let since = Instant::now();
    let suspended = crate::site::submit_as(
        &app,
        &op.browser,
        "/admin/therapists",
        &format!("/admin/therapists/{therapist_id}/suspend"),
        &[],
    )
    .await;
    assert_eq!(suspended.status(), StatusCode::SEE_OTHER);
    told_and_closed(&mut clients[0], "ended", since).await;
    told_and_closed(&mut host, "ended", since).await;
    // Nobody could let them in, so their link waits for nobody.
    assert_eq!(
        client(&app, &s.tokens[0]).await.err(),
        Some(StatusCode::GONE)
    );
}

async fn shortening_the_session_past_now_ends_the_open_room(app: TestApp) {
    // Starts in 10 minutes and lasts 30; 25 minutes later it is under way.
    let s = setup(&app, "ana@example.com", "group", &["ben@example.com"], 10).await;
    app.clock.advance(chrono::Duration::minutes(25));
    let (_host, mut clients) = in_the_room(&app, &s, 1).await;
    let bearer = app.fresh_token("ana@example.com").await;
    let since = Instant::now();
    let response = app
        .patch_auth(
            &format!("/api/v1/video-sessions/{}", s.session),
            &bearer,
            &json!({"duration_minutes": 15}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let ended = told_and_closed(&mut clients[0], "ended", since).await;
    assert_eq!(ended["message"], "The time for this session is over.");
}
