//! Headphones as a client's browser names them (`self_state` with
//! `headphones`, from the pre-call privacy check): a boolean or nothing,
//! shown to the therapist only and only on a client, forgotten with the
//! socket that said it.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{admitted, client, expect, expect_where, hello, send, setup, therapist};

on_both_backends!(headphones_reach_the_therapist_only_and_a_bad_value_is_refused);

/// `id`'s entry in a roster.
fn entry<'a>(roster: &'a Value, id: &str) -> &'a Value {
    roster["people"]
        .as_array()
        .and_then(|people| people.iter().find(|p| p["id"] == id))
        .unwrap_or(&Value::Null)
}

/// Whether any entry of a roster carries the field at all.
fn mentions_headphones(roster: &Value) -> bool {
    roster["people"]
        .as_array()
        .is_some_and(|people| people.iter().any(|p| p.get("headphones").is_some()))
}

async fn headphones_reach_the_therapist_only_and_a_bad_value_is_refused(app: TestApp) {
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
    let before = expect_where(&mut t, "roster", |r| entry(r, &ben_id).is_object()).await;
    assert!(
        !mentions_headphones(&before),
        "unknown until a browser says"
    );

    // Ben's browser names headphones (and he mutes, to mark the roster).
    send(
        &mut ben,
        json!({"type": "self_state", "audio": false, "video": true, "headphones": true}),
    )
    .await;
    let seen = |r: &Value| entry(r, &ben_id)["audio"] == false;
    let roster = expect_where(&mut t, "roster", seen).await;
    assert_eq!(entry(&roster, &ben_id)["headphones"], true);
    for other in [&mut cleo, &mut ben] {
        let roster = expect_where(other, "roster", seen).await;
        assert!(
            !mentions_headphones(&roster),
            "clients never see it: {roster}"
        );
    }

    // The therapist's own headphones are nobody's business here.
    send(
        &mut t,
        json!({"type": "self_state", "audio": false, "video": true, "headphones": true}),
    )
    .await;
    let roster = expect_where(&mut t, "roster", |r| {
        r["people"].as_array().is_some_and(|p| {
            p.iter()
                .any(|p| p["role"] == "therapist" && p["audio"] == false)
        })
    })
    .await;
    let mine = roster["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "therapist")
        .unwrap();
    assert!(mine.get("headphones").is_none(), "{mine}");
    assert_eq!(entry(&roster, &ben_id)["headphones"], true);

    // Anything but a boolean is refused, and the socket goes on.
    for garbage in [json!("yes"), json!(1), json!({"on": true}), json!([true])] {
        send(
            &mut ben,
            json!({"type": "self_state", "audio": false, "video": true, "headphones": garbage}),
        )
        .await;
        assert_eq!(expect(&mut ben, "error").await["code"], "bad_message");
    }
    send(&mut ben, json!({"type": "ping"})).await;
    expect(&mut ben, "pong").await;

    // Without the field it stays; `false` takes it away.
    send(
        &mut ben,
        json!({"type": "self_state", "audio": true, "video": true}),
    )
    .await;
    let roster = expect_where(&mut t, "roster", |r| entry(r, &ben_id)["audio"] == true).await;
    assert_eq!(entry(&roster, &ben_id)["headphones"], true);
    send(
        &mut ben,
        json!({"type": "self_state", "audio": false, "video": true, "headphones": false}),
    )
    .await;
    let roster = expect_where(&mut t, "roster", |r| entry(r, &ben_id)["audio"] == false).await;
    assert!(
        entry(&roster, &ben_id).get("headphones").is_none(),
        "{roster}"
    );

    // Said again, then Ben opens the link on another device: that one has
    // not said anything yet, so the therapist sees nothing.
    send(
        &mut ben,
        json!({"type": "self_state", "audio": true, "video": true, "headphones": true}),
    )
    .await;
    expect_where(&mut t, "roster", |r| {
        entry(r, &ben_id)["headphones"] == true
    })
    .await;
    let mut other_device = client(&app, &s.tokens[0]).await.unwrap();
    hello(&mut other_device).await;
    assert_eq!(
        expect(&mut other_device, "welcome").await["state"],
        "admitted"
    );
    expect(&mut ben, "replaced").await;
    send(
        &mut other_device,
        json!({"type": "self_state", "audio": false, "video": true}),
    )
    .await;
    let roster = expect_where(&mut t, "roster", |r| entry(r, &ben_id)["audio"] == false).await;
    assert!(
        entry(&roster, &ben_id).get("headphones").is_none(),
        "{roster}"
    );
}
