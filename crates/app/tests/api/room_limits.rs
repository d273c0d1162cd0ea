//! Room socket limits: a flood of chat or `self_state` is refused and its
//! socket closed while the therapist's stays open and keeps receiving; one
//! invitation link cannot hold more than a few sockets at once.

use std::time::Duration;

use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use regroup::room::MAX_SOCKETS_PER_MEMBER;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{
    client, client_when_free, expect, expect_where, hello, send, setup, therapist, Ws,
};

on_both_backends!(
    a_chat_and_state_flood_is_refused_and_closed_while_the_therapist_stays,
    a_thousand_sockets_on_one_link_are_refused_beyond_the_cap,
);

/// Sends `count` copies of `msg` as fast as the socket takes them, then
/// reads until the server closes it; returns the `rate_limited` errors seen.
async fn flood(ws: &mut Ws, msg: Value, count: usize) -> usize {
    let mut msg = msg;
    msg["v"] = json!(1);
    let text = msg.to_string();
    for _ in 0..count {
        if ws.send(Message::Text(text.clone().into())).await.is_err() {
            break;
        }
    }
    let read = async {
        let mut refused = 0;
        while let Some(Ok(frame)) = ws.next().await {
            if let Message::Text(t) = frame {
                let value: Value = serde_json::from_str(t.as_str()).unwrap();
                if value["type"] == "error" && value["code"] == "rate_limited" {
                    refused += 1;
                }
            }
        }
        refused
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a flooding socket is closed")
}

async fn admitted(app: &TestApp, host: &mut Ws, token: &str) -> (Ws, String) {
    let mut ws = client(app, token).await.unwrap();
    hello(&mut ws).await;
    let id = expect(&mut ws, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    send(host, json!({"type": "admit", "id": id})).await;
    expect(&mut ws, "admitted").await;
    (ws, id)
}

async fn a_chat_and_state_flood_is_refused_and_closed_while_the_therapist_stays(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com", "dan@example.com"],
        10,
    )
    .await;
    let mut host = therapist(&app, &s).await;
    let (mut ben, ben_id) = admitted(&app, &mut host, &s.tokens[0]).await;
    let (mut cleo, _) = admitted(&app, &mut host, &s.tokens[1]).await;
    let (mut dan, dan_id) = admitted(&app, &mut host, &s.tokens[2]).await;

    // The therapist reads all along, counting Ben's chat that got through.
    let reader = tokio::spawn(async move {
        let mut from_ben = 0;
        let read = async {
            while let Some(Ok(frame)) = host.next().await {
                if let Message::Text(t) = frame {
                    let value: Value = serde_json::from_str(t.as_str()).unwrap();
                    if value["type"] == "chat" && value["from"] == ben_id.as_str() {
                        from_ben += 1;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(4), read).await;
        (host, from_ben)
    });
    let (chat_refused, state_refused) = tokio::join!(
        flood(&mut ben, json!({"type": "chat", "text": "spam"}), 1000),
        flood(
            &mut cleo,
            json!({"type": "self_state", "audio": true, "video": false}),
            1000
        ),
    );
    assert!(chat_refused > 0, "Ben was told to slow down");
    assert!(state_refused > 0, "Cleo was told to slow down");
    let (mut host, from_ben) = reader.await.unwrap();
    assert!(
        (1..=20).contains(&from_ben),
        "the therapist got a burst of Ben's chat, not the flood: {from_ben}"
    );

    // The therapist's socket is still open and still receives.
    send(&mut host, json!({"type": "ping"})).await;
    expect(&mut host, "pong").await;
    send(&mut dan, json!({"type": "chat", "text": "hello"})).await;
    let chat = expect_where(&mut host, "chat", |c| c["from"] == dan_id.as_str()).await;
    assert_eq!(chat["text"], "hello");
}

async fn a_thousand_sockets_on_one_link_are_refused_beyond_the_cap(app: TestApp) {
    let s = setup(&app, "ana@example.com", "group", &["ben@example.com"], 10).await;
    let token = &s.tokens[0];
    let opened = join_all((0..1000).map(|_| client(&app, token))).await;
    let open = opened.iter().filter(|r| r.is_ok()).count();
    let refused = opened
        .iter()
        .filter(|r| matches!(r, Err(StatusCode::TOO_MANY_REQUESTS)))
        .count();
    assert_eq!(open, MAX_SOCKETS_PER_MEMBER, "at most the cap at once");
    assert_eq!(refused, 1000 - MAX_SOCKETS_PER_MEMBER, "the rest get 429");

    // Closing them gives the places back.
    drop(opened);
    let mut ws = client_when_free(&app, token).await;
    hello(&mut ws).await;
    expect(&mut ws, "welcome").await;
}
