//! Bilateral stimulation over the room socket: only the therapist controls
//! it, every field is checked, and the dot reaches its one target client
//! (again after a reconnect) until it stops or the target leaves.

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{client, expect, expect_where, hello, send, setup, therapist, Ws};

on_both_backends!(
    a_client_cannot_control_the_dot_and_bad_settings_are_refused,
    the_dot_reaches_only_its_target_again_after_a_reconnect_until_it_stops,
    the_dot_stops_when_its_target_goes_back_to_waiting_or_leaves,
);

fn start(target: &str) -> Value {
    json!({"type": "bilateral", "target": target, "running": true,
           "speed": 1.0, "color": "green", "size": 32, "tones": true})
}

async fn admitted(t: &mut Ws, ws: &mut Ws) -> String {
    hello(ws).await;
    let id = expect(ws, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    send(t, json!({"type": "admit", "id": id})).await;
    expect(ws, "admitted").await;
    id
}

/// The types of everything `ws` receives up to the answer to a ping: the
/// room handles frames in order, so whatever an earlier action sent to this
/// socket arrives before the pong.
async fn until_pong(ws: &mut Ws) -> Vec<String> {
    send(ws, json!({"type": "ping"})).await;
    let mut seen = Vec::new();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a pong within 10 s");
        if let Some(Ok(Message::Text(text))) = frame {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            let kind = value["type"].as_str().unwrap().to_string();
            if kind == "pong" {
                return seen;
            }
            seen.push(kind);
        }
    }
}

fn no_dot(seen: &[String]) -> bool {
    !seen.iter().any(|k| k.starts_with("bilateral"))
}

async fn a_client_cannot_control_the_dot_and_bad_settings_are_refused(app: TestApp) {
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
    let mut cleo = client(&app, &s.tokens[1]).await.unwrap();
    let mut dan = client(&app, &s.tokens[2]).await.unwrap();
    let ben_id = admitted(&mut t, &mut ben).await;
    let cleo_id = admitted(&mut t, &mut cleo).await;
    hello(&mut dan).await;
    let dan_id = expect(&mut dan, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    let roster = expect_where(&mut t, "roster", |r| {
        r["people"].as_array().is_some_and(|p| p.len() == 3)
    })
    .await;
    let therapist_id = roster["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "therapist")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // A client may neither start it (for anyone) nor stop it.
    for msg in [
        start(&cleo_id),
        start(&ben_id),
        json!({"type": "bilateral_stop"}),
    ] {
        send(&mut ben, msg).await;
        assert_eq!(expect(&mut ben, "error").await["code"], "not_allowed");
    }
    assert!(no_dot(&until_pong(&mut t).await));
    assert!(no_dot(&until_pong(&mut cleo).await));
    assert!(no_dot(&until_pong(&mut ben).await));

    let bad: Vec<(&str, Value)> = vec![
        ("speed", json!(0.4)),
        ("speed", json!(2.5)),
        ("speed", json!("fast")),
        ("size", json!(8)),
        ("size", json!(200)),
        ("size", json!(32.5)),
        ("size", json!(-1)),
        ("color", json!("purple")),
        ("color", json!("#12345")),
        ("color", json!("red; background: url(x)")),
        ("tones", json!("yes")),
        ("running", json!(null)),
        // Not an admitted client: nobody, the therapist, someone waiting.
        ("target", json!("nobody")),
        ("target", json!(therapist_id)),
        ("target", json!(dan_id)),
    ];
    for (field, value) in bad {
        let mut msg = start(&ben_id);
        msg[field] = value.clone();
        send(&mut t, msg).await;
        let error = expect(&mut t, "error").await;
        assert_eq!(error["code"], "bad_message", "{field} = {value}");
    }
    let mut missing = start(&ben_id);
    missing.as_object_mut().unwrap().remove("speed");
    send(&mut t, missing).await;
    assert_eq!(expect(&mut t, "error").await["code"], "bad_message");
    assert!(no_dot(&until_pong(&mut ben).await));
    assert!(no_dot(&until_pong(&mut dan).await));
    // The room goes on: a good start works after all that.
    send(&mut t, start(&ben_id)).await;
    let dot = expect(&mut ben, "bilateral").await;
    assert_eq!(dot["color"], "#6fd3b8");
}

async fn the_dot_reaches_only_its_target_again_after_a_reconnect_until_it_stops(app: TestApp) {
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

    send(&mut t, start(&ben_id)).await;
    let dot = expect(&mut ben, "bilateral").await;
    assert_eq!(
        (
            &dot["running"],
            &dot["speed"],
            &dot["size"],
            &dot["tones"],
            &dot["target"]
        ),
        (
            &json!(true),
            &json!(1.0),
            &json!(32),
            &json!(true),
            &json!(ben_id)
        )
    );
    // The therapist's panel follows; the other client never hears of it.
    expect(&mut t, "bilateral").await;
    assert!(no_dot(&until_pong(&mut cleo).await));

    // Faster, then a dropped socket: the returning page gets the current state.
    let mut faster = start(&ben_id);
    faster["speed"] = json!(1.5);
    faster["color"] = json!("#A0B1C2");
    send(&mut t, faster).await;
    expect_where(&mut ben, "bilateral", |d| d["speed"] == 1.5).await;
    drop(ben);
    let mut ben = crate::room::client_when_free(&app, &s.tokens[0]).await;
    hello(&mut ben).await;
    assert_eq!(expect(&mut ben, "welcome").await["state"], "admitted");
    let dot = expect(&mut ben, "bilateral").await;
    assert_eq!(
        (&dot["speed"], &dot["color"]),
        (&json!(1.5), &json!("#a0b1c2"))
    );

    // Pause keeps the dot (not running); Stop takes it away.
    let mut pause = start(&ben_id);
    pause["running"] = json!(false);
    send(&mut t, pause).await;
    expect_where(&mut ben, "bilateral", |d| d["running"] == false).await;
    send(&mut t, json!({"type": "bilateral_stop"})).await;
    assert_eq!(expect(&mut ben, "bilateral_stop").await["target"], ben_id);
    expect(&mut t, "bilateral_stop").await;
    assert!(no_dot(&until_pong(&mut cleo).await));

    // Once stopped, a reconnect brings nothing back.
    drop(ben);
    let mut ben = crate::room::client_when_free(&app, &s.tokens[0]).await;
    hello(&mut ben).await;
    expect(&mut ben, "welcome").await;
    assert!(no_dot(&until_pong(&mut ben).await));
}

async fn the_dot_stops_when_its_target_goes_back_to_waiting_or_leaves(app: TestApp) {
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
    let cleo_id = admitted(&mut t, &mut cleo).await;

    // Back to the waiting room: the dot stops for them and the therapist,
    // and admission again does not bring it back.
    send(&mut t, start(&ben_id)).await;
    expect(&mut ben, "bilateral").await;
    send(&mut t, json!({"type": "to_waiting", "id": ben_id})).await;
    expect(&mut ben, "bilateral_stop").await;
    expect(&mut ben, "moved_to_waiting").await;
    expect(&mut t, "bilateral_stop").await;
    send(&mut t, json!({"type": "admit", "id": ben_id})).await;
    expect(&mut ben, "admitted").await;
    assert!(no_dot(&until_pong(&mut ben).await));

    // Another target takes the dot from the first.
    send(&mut t, start(&ben_id)).await;
    expect(&mut ben, "bilateral").await;
    send(&mut t, start(&cleo_id)).await;
    expect(&mut ben, "bilateral_stop").await;
    expect(&mut cleo, "bilateral").await;

    // The target leaves: the therapist's panel hears that it stopped.
    send(&mut cleo, json!({"type": "leave"})).await;
    expect_where(&mut t, "bilateral_stop", |m| m["target"] == cleo_id).await;
    assert!(no_dot(&until_pong(&mut ben).await));
}
