//! A waiting client's media connection: set up while they wait, the room's
//! tracks negotiated (so that admission is quick), held by the engine with
//! nothing forwarded either way, and dropped when they are turned away. str0m "browsers" on real
//! UDP sockets connect through ICE and DTLS.

use futures_util::StreamExt;
use serde_json::{json, Value};
use str0m::media::Direction;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{client, expect, expect_where, hello, send, setup, therapist, Ws};
use crate::room_probe::Peer;

on_both_backends!(a_waiting_clients_media_is_held_until_admission_and_dropped_on_deny);

/// Every message up to the pong to a ping sent now.
async fn until_pong(ws: &mut Ws) -> Vec<Value> {
    send(ws, json!({"type": "ping"})).await;
    let mut seen = Vec::new();
    loop {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        };
        let msg: Value = serde_json::from_str(text.as_str()).unwrap();
        if msg["type"] == "pong" {
            return seen;
        }
        seen.push(msg);
    }
}

fn offers(seen: &[Value]) -> usize {
    seen.iter().filter(|m| m["type"] == "media_offer").count()
}

/// A peer sending audio joins through `ws` and connects; returns it.
async fn connects_with_audio(ws: &mut Ws) -> Peer {
    let (mut peer, offer) = Peer::offer_with(Direction::SendOnly);
    send(
        ws,
        json!({"type": "media_offer", "sdp": offer, "fresh": true}),
    )
    .await;
    let answer = expect(ws, "media_answer").await;
    assert!(
        peer.connects(answer["sdp"].as_str().unwrap()).await,
        "ICE and DTLS complete with the engine"
    );
    peer
}

async fn a_waiting_clients_media_is_held_until_admission_and_dropped_on_deny(app: TestApp) {
    let s = setup(
        &app,
        "ana@example.com",
        "group",
        &["ben@example.com", "cleo@example.com"],
        10,
    )
    .await;
    let mut t = therapist(&app, &s).await;
    let _therapist_media = connects_with_audio(&mut t).await;

    // Ben may connect while he waits, and does.
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    hello(&mut ben).await;
    let welcome = expect(&mut ben, "welcome").await;
    assert_eq!(welcome["state"], "waiting");
    assert_eq!(welcome["media_while_waiting"], true);
    let mut ben_media = connects_with_audio(&mut ben).await;

    // Connected, and offered the room's tracks (the therapist's) so that
    // admission needs no negotiation; nobody is offered his.
    let offer = expect(&mut ben, "media_offer").await;
    let offer = offer["sdp"].as_str().unwrap();
    assert!(offer.contains("a=sendonly"), "the therapist's track");
    let answer = ben_media.answer(offer);
    send(&mut ben, json!({"type": "media_answer", "sdp": answer})).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let seen = until_pong(&mut ben).await;
    assert!(
        !seen.iter().any(|m| m["type"] == "error"),
        "the waiting client's answer is taken: {seen:?}"
    );
    assert_eq!(
        offers(&until_pong(&mut t).await),
        0,
        "nobody is offered Ben's tracks"
    );
    // A waiting client still cannot chat, and a bad answer is refused.
    send(&mut ben, json!({"type": "chat", "text": "hello"})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "not_admitted");
    send(&mut ben, json!({"type": "media_answer", "sdp": "v=0"})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "bad_sdp");

    // Admitted: what he receives was negotiated already, so no offer comes
    // to him; his tracks are offered to the therapist.
    let id = welcome["you"].as_str().unwrap().to_string();
    send(&mut t, json!({"type": "admit", "id": id})).await;
    expect(&mut ben, "admitted").await;
    expect(&mut t, "media_offer").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        offers(&until_pong(&mut ben).await),
        0,
        "admission needs no offer to Ben"
    );

    // Cleo connects while waiting and is denied: nobody is ever offered her
    // tracks (the engine drops her participant: see the engine's tests).
    let mut cleo = client(&app, &s.tokens[1]).await.unwrap();
    hello(&mut cleo).await;
    let cleo_id = expect(&mut cleo, "welcome").await["you"]
        .as_str()
        .unwrap()
        .to_string();
    let _cleo_media = connects_with_audio(&mut cleo).await;
    expect_where(&mut t, "waiting_list", |m| m["people"] != json!([])).await;
    send(&mut t, json!({"type": "deny", "id": cleo_id})).await;
    expect(&mut cleo, "denied").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let seen = until_pong(&mut t).await;
    assert_eq!(offers(&seen), 0, "Cleo's tracks reach nobody: {seen:?}");
}
