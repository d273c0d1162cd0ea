//! The room's signaling socket without a browser: who may open it, what bad
//! input does (an error message; the socket and the room go on), and a
//! thousand quick joins and leaves.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use regroup::store::SessionKind;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_link_opens_only_its_own_session_and_only_its_owner_moderates,
    group_clients_must_acknowledge_confidentiality,
    expired_early_cancelled_and_removed_links_are_refused_at_the_socket,
    garbage_oversized_and_unknown_messages_get_an_error_and_the_socket_lives,
    a_participant_who_reconnects_within_a_minute_skips_the_waiting_room,
    a_thousand_quick_joins_and_leaves_leave_the_server_answering,
    the_therapist_denies_moves_back_and_locks_and_joins_and_leaves_are_audited,
    a_raised_hand_reaches_the_others_roster_and_a_bad_hand_is_refused,
);

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) struct Setup {
    pub(crate) session: String,
    pub(crate) tokens: Vec<String>,
    /// The client records, in the order of `tokens`.
    pub(crate) clients: Vec<String>,
    pub(crate) cookie: String,
    pub(crate) bearer: String,
}

pub(crate) async fn setup(
    app: &TestApp,
    email: &str,
    kind: &str,
    clients: &[&str],
    in_minutes: i64,
) -> Setup {
    let created = app.verified_therapist(email).await;
    let account = created["id"].as_str().unwrap().to_string();
    let bearer = app.fresh_token(email).await;
    let mut ids = Vec::new();
    for client in clients {
        let response = app
            .api
            .post(app.url("/api/v1/clients"))
            .bearer_auth(&bearer)
            .json(&json!({"name": format!("Client {client}"), "email": client}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let starts = (app.clock.now() + chrono::Duration::minutes(in_minutes)).to_rfc3339();
    let response = app
        .api
        .post(app.url("/api/v1/video-sessions"))
        .bearer_auth(&bearer)
        .json(
            &json!({"kind": kind, "starts_at": starts, "duration_minutes": 30,
                      "time_zone": "UTC", "client_ids": ids}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let (cookie, _) =
        regroup::auth::session::start(&app.state, &account.as_str().into(), SessionKind::Cookie)
            .await
            .unwrap();
    Setup {
        session: body["id"].as_str().unwrap().to_string(),
        tokens: clients
            .iter()
            .map(|c| app.mailed_token(c, "/join/"))
            .collect(),
        clients: ids,
        cookie,
        bearer,
    }
}

pub(crate) async fn open(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
) -> Result<Ws, StatusCode> {
    let url = app.url(path).replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().unwrap();
    if let Some(cookie) = cookie {
        request.headers_mut().insert(
            "cookie",
            format!("regroup_session={cookie}").parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(response)) => {
            Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
        }
        Err(other) => panic!("unexpected socket failure: {other}"),
    }
}

pub(crate) async fn client(app: &TestApp, token: &str) -> Result<Ws, StatusCode> {
    open(app, &format!("/join/{token}/ws"), None).await
}

/// A client socket once the link has a free place again: sockets closed just
/// before give theirs back as the server notices the close.
pub(crate) async fn client_when_free(app: &TestApp, token: &str) -> Ws {
    for _ in 0..50 {
        match client(app, token).await {
            Ok(ws) => return ws,
            Err(StatusCode::TOO_MANY_REQUESTS) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(other) => panic!("the link answers {other}"),
        }
    }
    panic!("the link stays at its socket cap");
}

pub(crate) async fn therapist(app: &TestApp, s: &Setup) -> Ws {
    let mut ws = open(app, &format!("/sessions/{}/ws", s.session), Some(&s.cookie))
        .await
        .expect("the owner opens the room");
    send(&mut ws, json!({"type": "hello"})).await;
    expect(&mut ws, "welcome").await;
    ws
}

pub(crate) async fn send(ws: &mut Ws, mut msg: Value) {
    msg["v"] = json!(1);
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
}

/// Reads until a message of `kind` arrives (others are skipped).
pub(crate) async fn expect(ws: &mut Ws, kind: &str) -> Value {
    expect_where(ws, kind, |_| true).await
}

/// Reads until a message of `kind` for which `ok` holds arrives.
pub(crate) async fn expect_where(ws: &mut Ws, kind: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let read = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    assert_eq!(value["v"], 1);
                    if value["type"] == kind && ok(&value) {
                        return value;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended while waiting for {kind}: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap_or_else(|_| panic!("no {kind} message within 10 s"))
}

pub(crate) async fn hello(ws: &mut Ws) {
    send(ws, json!({"type": "hello", "ack_confidential": true})).await;
}

async fn a_link_opens_only_its_own_session_and_only_its_owner_moderates(app: TestApp) {
    let a = setup(&app, "ana@example.com", "group", &["ben@example.com"], 10).await;
    let b = setup(&app, "bo@example.com", "group", &["cleo@example.com"], 10).await;

    // Another therapist's cookie cannot open A's room; no cookie cannot either.
    assert_eq!(
        open(
            &app,
            &format!("/sessions/{}/ws", a.session),
            Some(&b.cookie)
        )
        .await
        .err(),
        Some(StatusCode::NOT_FOUND)
    );
    assert!(open(&app, &format!("/sessions/{}/ws", a.session), None)
        .await
        .is_err());
    assert_eq!(
        client(&app, "not-a-token").await.err(),
        Some(StatusCode::NOT_FOUND)
    );

    // Ben's link puts him in A's waiting room: A's therapist sees him, B's never does.
    let mut therapist_b = therapist(&app, &b).await;
    let mut therapist_a = therapist(&app, &a).await;
    let mut ben = client(&app, &a.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    let welcome = expect(&mut ben, "welcome").await;
    assert_eq!(welcome["state"], "waiting");
    let list = loop {
        let list = expect(&mut therapist_a, "waiting_list").await;
        if !list["people"].as_array().unwrap().is_empty() {
            break list;
        }
    };
    assert_eq!(list["people"][0]["name"], "Client ben@example.com");
    send(&mut therapist_b, json!({"type": "ping"})).await;
    let mut seen = Vec::new();
    loop {
        let text = match therapist_b.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        };
        let value: Value = serde_json::from_str(text.as_str()).unwrap();
        if value["type"] == "pong" {
            break;
        }
        seen.push(value);
    }
    assert!(
        seen.iter()
            .all(|m| m["type"] != "waiting_list" || m["people"].as_array().unwrap().is_empty()),
        "B's therapist never sees A's client: {seen:?}"
    );

    // A client cannot use the therapist's controls, nor chat before admission.
    // (A media offer while waiting reaches the engine, held: room_held.rs.)
    send(&mut ben, json!({"type": "admit_all"})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "not_allowed");
    send(&mut ben, json!({"type": "chat", "text": "hi"})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "not_admitted");
    send(
        &mut ben,
        json!({"type": "media_offer", "sdp": "v=0", "fresh": true}),
    )
    .await;
    assert_eq!(expect(&mut ben, "error").await["code"], "bad_sdp");
}

async fn group_clients_must_acknowledge_confidentiality(app: TestApp) {
    let s = setup(&app, "ana@example.com", "group", &["ben@example.com"], 10).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    send(&mut ben, json!({"type": "hello"})).await;
    assert_eq!(
        expect(&mut ben, "error").await["code"],
        "confidentiality_required"
    );
    hello(&mut ben).await;
    assert_eq!(expect(&mut ben, "welcome").await["state"], "waiting");
    let audit: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    assert!(
        audit.iter().any(|a| a == "confidentiality_acknowledged"),
        "{audit:?}"
    );
}

async fn expired_early_cancelled_and_removed_links_are_refused_at_the_socket(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        10,
    )
    .await;
    let later = setup(
        &app,
        "bo@example.com",
        "individual",
        &["dan@example.com"],
        120,
    )
    .await;
    assert_eq!(
        client(&app, &later.tokens[0]).await.err(),
        Some(StatusCode::CONFLICT)
    );

    // Removed by the therapist: the socket closes and the link stops working.
    let mut t = therapist(&app, &s).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    let welcome = expect(&mut ben, "welcome").await;
    let ben_id = welcome["you"].as_str().unwrap().to_string();
    send(&mut t, json!({"type": "admit", "id": ben_id})).await;
    expect(&mut ben, "admitted").await;
    send(&mut t, json!({"type": "remove", "id": ben_id})).await;
    expect(&mut ben, "removed").await;
    assert_eq!(
        client(&app, &s.tokens[0]).await.err(),
        Some(StatusCode::GONE)
    );

    // Cancelled: every link is refused.
    let response = app
        .api
        .delete(app.url(&format!("/api/v1/video-sessions/{}", later.session)))
        .bearer_auth(&later.bearer)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        client(&app, &later.tokens[0]).await.err(),
        Some(StatusCode::GONE)
    );

    // After the end of the window, Cleo's link is refused too (the therapist
    // is still in the room: past the 15 minutes it may run over).
    assert!(client(&app, &s.tokens[1]).await.is_ok());
    app.clock.advance(chrono::Duration::minutes(60));
    assert_eq!(
        client(&app, &s.tokens[1]).await.err(),
        Some(StatusCode::GONE)
    );
}

async fn garbage_oversized_and_unknown_messages_get_an_error_and_the_socket_lives(app: TestApp) {
    let s = setup(&app, "ana@example.com", "group", &["ben@example.com"], 10).await;
    let mut t = therapist(&app, &s).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();

    ben.send(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(expect(&mut ben, "error").await["code"], "bad_json");
    ben.send(Message::Binary(vec![0, 159, 146, 150].into()))
        .await
        .unwrap();
    assert_eq!(expect(&mut ben, "error").await["code"], "bad_json");
    let big = json!({"v": 1, "type": "chat", "text": "x".repeat(200 * 1024)}).to_string();
    ben.send(Message::Text(big.into())).await.unwrap();
    assert_eq!(expect(&mut ben, "error").await["code"], "too_large");
    send(&mut ben, json!({"type": "self_destruct"})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "unknown_type");
    ben.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    assert_eq!(
        expect(&mut ben, "error").await["code"],
        "unsupported_version"
    );
    send(&mut ben, json!({"type": "chat"})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "bad_message");
    send(&mut ben, json!({"type": "chat", "text": "too soon"})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "hello_first");

    // Still alive: Ben joins, is admitted, and bad SDP is refused without harm.
    hello(&mut ben).await;
    let id = expect(&mut ben, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    send(&mut t, json!({"type": "admit", "id": id})).await;
    expect(&mut ben, "admitted").await;
    send(
        &mut ben,
        json!({"type": "media_offer", "sdp": "garbage", "fresh": true}),
    )
    .await;
    assert_eq!(expect(&mut ben, "error").await["code"], "bad_sdp");
    send(&mut ben, json!({"type": "chat", "text": "still here"})).await;
    let chat = expect(&mut t, "chat").await;
    assert_eq!(chat["text"], "still here");
    assert_eq!(
        chat["name"], "Client ben@example.com",
        "the therapist sees the name they entered"
    );
    send(&mut ben, json!({"type": "ping"})).await;
    expect(&mut ben, "pong").await;
}

async fn a_participant_who_reconnects_within_a_minute_skips_the_waiting_room(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "individual",
        &["ben@example.com"],
        10,
    )
    .await;
    let mut t = therapist(&app, &s).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    let id = expect(&mut ben, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    send(&mut t, json!({"type": "admit", "id": id})).await;
    expect(&mut ben, "admitted").await;
    drop(ben);
    // The therapist also drops and comes back: still the moderator.
    drop(t);
    let mut t = therapist(&app, &s).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    assert_eq!(expect(&mut ben, "welcome").await["state"], "admitted");
    send(&mut t, json!({"type": "mute", "id": id})).await;
    expect_where(&mut ben, "controls", |c| c["host_muted"] == true).await;
    send(
        &mut ben,
        json!({"type": "self_state", "audio": true, "video": true}),
    )
    .await;
    assert_eq!(expect(&mut ben, "error").await["code"], "not_allowed");
    send(&mut t, json!({"type": "allow_unmute", "id": id})).await;
    expect_where(&mut ben, "controls", |c| c["may_unmute"] == true).await;
}

async fn a_thousand_quick_joins_and_leaves_leave_the_server_answering(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "individual",
        &["ben@example.com"],
        10,
    )
    .await;
    let mut t = therapist(&app, &s).await;
    for _ in 0..100 {
        let mut batch = Vec::new();
        for _ in 0..10 {
            let token = s.tokens[0].clone();
            let app_url = app
                .url(&format!("/join/{token}/ws"))
                .replacen("http://", "ws://", 1);
            batch.push(tokio::spawn(async move {
                // Beyond the link's socket cap the answer is 429, not a crash.
                let mut ws = match tokio_tungstenite::connect_async(app_url).await {
                    Ok((ws, _)) => ws,
                    Err(WsError::Http(r)) if r.status() == 429 => return,
                    Err(other) => panic!("unexpected socket failure: {other}"),
                };
                ws.send(Message::Text(r#"{"v":1,"type":"hello"}"#.into()))
                    .await
                    .unwrap();
                let _ = ws.next().await;
                let _ = ws.close(None).await;
            }));
        }
        for task in batch {
            task.await.unwrap();
        }
    }
    // The server answers, the room still works, and the therapist's socket lived through it.
    let health = app.api.get(app.url("/healthz")).send().await.unwrap();
    assert!(health.status().is_success());
    send(&mut t, json!({"type": "ping"})).await;
    expect(&mut t, "pong").await;
    let mut ben = client_when_free(&app, &s.tokens[0]).await;
    hello(&mut ben).await;
    expect(&mut ben, "welcome").await;
    assert!(app.state.rooms.live() >= 1);
}

async fn the_therapist_denies_moves_back_and_locks_and_joins_and_leaves_are_audited(
    mut app: TestApp,
) {
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com", "dan@example.com"],
        10,
    )
    .await;
    let mut t = therapist(&app, &s).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    let ben_id = expect(&mut ben, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    let mut cleo = client(&app, &s.tokens[1]).await.unwrap();
    hello(&mut cleo).await;
    let cleo_id = expect(&mut cleo, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    expect_where(&mut t, "waiting_list", |l| {
        l["people"].as_array().unwrap().len() == 2
    })
    .await;

    // Deny: Cleo is told and leaves the waiting list.
    send(&mut t, json!({"type": "deny", "id": cleo_id})).await;
    expect(&mut cleo, "denied").await;
    expect_where(&mut t, "waiting_list", |l| {
        l["people"].as_array().unwrap().len() == 1
    })
    .await;

    // Admit, then back to the waiting room: no roster while waiting.
    send(&mut t, json!({"type": "admit", "id": ben_id})).await;
    expect(&mut ben, "admitted").await;
    let roster = expect(&mut ben, "roster").await;
    assert_eq!(roster["people"].as_array().unwrap().len(), 2);
    send(&mut t, json!({"type": "to_waiting", "id": ben_id})).await;
    expect(&mut ben, "moved_to_waiting").await;
    send(&mut ben, json!({"type": "chat", "text": "hello?"})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "not_admitted");

    // Lock: a newcomer is turned away; the therapist sees the room locked.
    send(&mut t, json!({"type": "lock", "locked": true})).await;
    expect_where(&mut t, "roster", |r| r["locked"] == true).await;
    let mut dan = client(&app, &s.tokens[2]).await.unwrap();
    hello(&mut dan).await;
    expect(&mut dan, "locked").await;

    // Leave and end are audited, as the admission was.
    send(&mut t, json!({"type": "admit", "id": ben_id})).await;
    expect(&mut ben, "admitted").await;
    send(&mut ben, json!({"type": "leave"})).await;
    expect_where(&mut t, "roster", |r| {
        r["people"].as_array().unwrap().len() == 1
    })
    .await;
    send(&mut t, json!({"type": "end"})).await;
    expect(&mut t, "ended").await;
    let audit: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    for action in ["room_joined", "room_left", "session_ended"] {
        assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
    }
    assert_eq!(
        client(&app, &s.tokens[0]).await.err(),
        Some(StatusCode::GONE)
    );
    // The end is stored: after a restart the room and the link stay closed.
    app.restart().await;
    assert_eq!(
        client(&app, &s.tokens[0]).await.err(),
        Some(StatusCode::GONE)
    );
    assert_eq!(
        app.page(&format!("/join/{}", s.tokens[0])).await.0,
        StatusCode::GONE
    );
}

/// The id `welcome` gives a client after `hello`, then admission.
pub(crate) async fn admitted(t: &mut Ws, ws: &mut Ws) -> String {
    hello(ws).await;
    let id = expect(ws, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    send(t, json!({"type": "admit", "id": id})).await;
    expect(ws, "admitted").await;
    id
}

/// A yes/no field (`hand`, `audio_only`, ...) of `id`'s roster entry.
pub(crate) fn flag_of(roster: &Value, id: &str, field: &str) -> Option<bool> {
    roster["people"]
        .as_array()?
        .iter()
        .find(|p| p["id"] == id)?[field]
        .as_bool()
}

/// Whether the roster shows `id` with a raised hand.
fn hand_of(roster: &Value, id: &str) -> Option<bool> {
    flag_of(roster, id, "hand")
}

async fn a_raised_hand_reaches_the_others_roster_and_a_bad_hand_is_refused(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        10,
    )
    .await;
    let mut t = therapist(&app, &s).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    let mut cleo = client(&app, &s.tokens[1]).await.unwrap();
    let ben_id = admitted(&mut t, &mut ben).await;
    admitted(&mut t, &mut cleo).await;
    expect_where(&mut cleo, "roster", |r| hand_of(r, &ben_id) == Some(false)).await;

    send(
        &mut ben,
        json!({"type": "self_state", "audio": true, "video": true, "hand": true}),
    )
    .await;
    expect_where(&mut t, "roster", |r| hand_of(r, &ben_id) == Some(true)).await;
    expect_where(&mut cleo, "roster", |r| hand_of(r, &ben_id) == Some(true)).await;
    // Without `hand` (an older page), the hand stays as it was.
    send(
        &mut ben,
        json!({"type": "self_state", "audio": false, "video": true}),
    )
    .await;
    let roster = expect_where(&mut cleo, "roster", |r| {
        r["people"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["id"] == ben_id && p["audio"] == false))
    })
    .await;
    assert_eq!(hand_of(&roster, &ben_id), Some(true));

    for garbage in [json!("yes"), json!(1), json!({"up": true})] {
        send(
            &mut ben,
            json!({"type": "self_state", "audio": true, "video": true, "hand": garbage}),
        )
        .await;
        assert_eq!(expect(&mut ben, "error").await["code"], "bad_message");
    }
    send(&mut ben, json!({"type": "ping"})).await;
    expect(&mut ben, "pong").await;

    send(
        &mut ben,
        json!({"type": "self_state", "audio": true, "video": true, "hand": false}),
    )
    .await;
    expect_where(&mut cleo, "roster", |r| hand_of(r, &ben_id) == Some(false)).await;
}
