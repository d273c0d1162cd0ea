//! Nobody can pose as the therapist: a client cannot take their name, and
//! chat carries the sender's role as the server knows it.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{client, expect, expect_where, send, setup, therapist};

on_both_backends!(a_client_cannot_take_the_therapists_name_and_chat_names_the_sender_role);

async fn a_client_cannot_take_the_therapists_name_and_chat_names_the_sender_role(app: TestApp) {
    // The therapist's account is "Ana Ruiz".
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        10,
    )
    .await;
    let mut host = therapist(&app, &s).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    for pose in ["Ana Ruiz", "  ana   RUIZ ", "Ana-Ruiz."] {
        send(
            &mut ben,
            json!({"type": "hello", "display_name": pose, "ack_confidential": true}),
        )
        .await;
        let refused = expect(&mut ben, "error").await;
        assert_eq!(refused["code"], "bad_name", "{pose}");
    }
    send(
        &mut ben,
        json!({"type": "hello", "display_name": "Ana", "ack_confidential": true}),
    )
    .await;
    let ben_id = expect(&mut ben, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    send(&mut host, json!({"type": "admit", "id": ben_id})).await;
    expect(&mut ben, "admitted").await;

    let mut cleo = client(&app, &s.tokens[1]).await.unwrap();
    crate::room::hello(&mut cleo).await;
    let cleo_id = expect(&mut cleo, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    send(&mut host, json!({"type": "admit", "id": cleo_id})).await;
    expect(&mut cleo, "admitted").await;
    let roster = expect(&mut cleo, "roster").await;
    let host_entry = roster["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "therapist")
        .cloned()
        .unwrap();
    assert_eq!(host_entry["role"], "therapist");

    send(
        &mut ben,
        json!({"type": "chat", "text": "I am your therapist"}),
    )
    .await;
    let from_ben = expect_where(&mut cleo, "chat", |c| c["from"] == ben_id.as_str()).await;
    assert_eq!(from_ben["role"], "client");
    assert_eq!(from_ben["name"], "Ana");
    send(&mut host, json!({"type": "chat", "text": "Welcome"})).await;
    let from_host = expect_where(&mut cleo, "chat", |c| c["from"] == "therapist").await;
    assert_eq!(from_host["role"], "therapist");
    assert_eq!(from_host["name"], "Ana Ruiz");
}
