//! Audio only over the signaling socket: who may choose it, what bad input
//! gets, and that everyone's roster shows it. (That the engine then writes no
//! video is tested with real browsers in tests/browser/audio_only.rs and
//! with simulated ones in the engine's own tests.)

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{admitted, client, expect, expect_where, flag_of, hello, send, setup, therapist};

on_both_backends!(audio_only_is_an_admitted_persons_choice_and_everyone_sees_it);

fn audio_only_of(roster: &Value, id: &str) -> Option<bool> {
    flag_of(roster, id, "audio_only")
}

async fn audio_only_is_an_admitted_persons_choice_and_everyone_sees_it(app: TestApp) {
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

    // Waiting: nothing to choose yet.
    hello(&mut cleo).await;
    let cleo_id = expect(&mut cleo, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    send(&mut cleo, json!({"type": "audio_only", "on": true})).await;
    assert_eq!(expect(&mut cleo, "error").await["code"], "not_admitted");
    send(&mut t, json!({"type": "admit", "id": cleo_id})).await;
    expect(&mut cleo, "admitted").await;

    let ben_id = admitted(&mut t, &mut ben).await;
    expect_where(&mut t, "roster", |r| {
        audio_only_of(r, &ben_id) == Some(false)
    })
    .await;
    send(&mut ben, json!({"type": "audio_only", "on": true})).await;
    expect_where(&mut t, "roster", |r| {
        audio_only_of(r, &ben_id) == Some(true)
    })
    .await;
    expect_where(&mut cleo, "roster", |r| {
        audio_only_of(r, &ben_id) == Some(true)
    })
    .await;

    for garbage in [
        json!({"type": "audio_only"}),
        json!({"type": "audio_only", "on": "yes"}),
        json!({"type": "audio_only", "on": 1}),
        json!({"type": "audio_only", "on": true, "id": cleo_id}),
    ] {
        send(&mut ben, garbage).await;
        assert_eq!(expect(&mut ben, "error").await["code"], "bad_message");
    }
    send(&mut ben, json!({"type": "ping"})).await;
    expect(&mut ben, "pong").await;

    // A new page (a reload) starts with pictures.
    drop(ben);
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    let welcome = expect(&mut ben, "welcome").await;
    assert_eq!(welcome["state"], "admitted");
    expect_where(&mut t, "roster", |r| {
        audio_only_of(r, &ben_id) == Some(false)
    })
    .await;

    send(&mut ben, json!({"type": "audio_only", "on": true})).await;
    expect_where(&mut t, "roster", |r| {
        audio_only_of(r, &ben_id) == Some(true)
    })
    .await;
    send(&mut ben, json!({"type": "audio_only", "on": false})).await;
    expect_where(&mut t, "roster", |r| {
        audio_only_of(r, &ben_id) == Some(false)
    })
    .await;
}
