//! The pre-call check over the signaling socket: a str0m "browser" on a real
//! UDP socket gets a throwaway connection to the engine through ICE and
//! DTLS before saying hello, without being anyone in the room; bad offers
//! and too many checks get an error and the socket goes on.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::room::{client, expect, expect_where, hello, send, setup, therapist};

on_both_backends!(a_waiting_client_checks_that_media_gets_through_before_joining);

/// A str0m peer on a real UDP socket: receive-only as the pre-call page
/// makes it, or sending audio as a room page does (`room_held.rs`).
pub(crate) struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
}

impl Peer {
    fn offer() -> (Peer, String) {
        Peer::offer_with(Direction::RecvOnly)
    }

    pub(crate) fn offer_with(direction: Direction) -> (Peer, String) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let local = socket.local_addr().unwrap();
        let mut rtc = Rtc::new(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, Protocol::Udp).unwrap());
        let mut change = rtc.sdp_api();
        change.add_media(MediaKind::Audio, direction, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let peer = Peer {
            rtc,
            socket,
            local,
            pending: Some(pending),
        };
        (peer, offer.to_sdp_string())
    }

    /// Answers the server's offer (its forwarded tracks), as the room page does.
    pub(crate) fn answer(&mut self, offer: &str) -> String {
        let offer = SdpOffer::from_sdp_string(offer).unwrap();
        let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
        answer.to_sdp_string()
    }

    /// Takes the answer and runs ICE and DTLS; true once connected.
    pub(crate) async fn connects(&mut self, answer: &str) -> bool {
        let answer = SdpAnswer::from_sdp_string(answer).unwrap();
        let pending = self.pending.take().unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            loop {
                match self.rtc.poll_output().unwrap() {
                    Output::Timeout(_) => break,
                    Output::Transmit(t) => drop(self.socket.send_to(&t.contents, t.destination)),
                    Output::Event(Event::Connected) => return true,
                    Output::Event(_) => {}
                }
            }
            while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
                let receive = Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.local,
                    contents: buf[..n].try_into().unwrap(),
                };
                self.rtc
                    .handle_input(Input::Receive(Instant::now(), receive))
                    .unwrap();
            }
            self.rtc
                .handle_input(Input::Timeout(Instant::now()))
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        false
    }
}

async fn a_waiting_client_checks_that_media_gets_through_before_joining(app: TestApp) {
    let s = setup(&app, "ana@example.com", "group", &["ben@example.com"], 10).await;
    let mut t = therapist(&app, &s).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();

    // Before hello: the check is allowed, and it gives TURN servers (none here).
    send(&mut ben, json!({"type": "probe"})).await;
    let ready = expect(&mut ben, "probe_ready").await;
    assert_eq!(ready["ice_servers"], json!([]));

    let (mut peer, offer) = Peer::offer();
    send(&mut ben, json!({"type": "probe_offer", "sdp": offer})).await;
    let answer = expect(&mut ben, "probe_answer").await;
    let sdp = answer["sdp"].as_str().unwrap();
    assert!(sdp.contains("a=ice-lite"), "the engine answered");
    assert!(
        peer.connects(sdp).await,
        "ICE and DTLS complete with the engine over UDP"
    );
    send(&mut ben, json!({"type": "probe_end"})).await;

    // A bad offer is refused and the socket goes on.
    send(
        &mut ben,
        json!({"type": "probe_offer", "sdp": "v=0 garbage"}),
    )
    .await;
    assert_eq!(expect(&mut ben, "error").await["code"], "bad_sdp");

    // Each check costs an engine room: five per socket, then an error.
    for _ in 0..3 {
        let (_, offer) = Peer::offer();
        send(&mut ben, json!({"type": "probe_offer", "sdp": offer})).await;
        expect(&mut ben, "probe_answer").await;
    }
    let (_, offer) = Peer::offer();
    send(&mut ben, json!({"type": "probe_offer", "sdp": offer})).await;
    assert_eq!(expect(&mut ben, "error").await["code"], "too_many_probes");

    // The checks made Ben no one in the room: the therapist heard of nobody
    // waiting (everything up to the pong to a ping sent now is checked).
    send(&mut t, json!({"type": "ping"})).await;
    loop {
        let text = match t.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            other => panic!("the therapist's socket ended: {other:?}"),
        };
        let msg: Value = serde_json::from_str(text.as_str()).unwrap();
        match msg["type"].as_str() {
            Some("pong") => break,
            Some("waiting_list") => assert_eq!(msg["people"], json!([])),
            Some("roster") => assert_eq!(msg["people"].as_array().unwrap().len(), 1),
            _ => {}
        }
    }
    // Ben then says hello and waits as usual.
    hello(&mut ben).await;
    assert_eq!(expect(&mut ben, "welcome").await["state"], "waiting");
    let waiting = expect_where(&mut t, "waiting_list", |m| m["people"] != json!([])).await;
    assert_eq!(waiting["people"].as_array().unwrap().len(), 1);
}

/// TURN credentials go only to someone who said hello: not in `probe_ready`
/// before it, then in `welcome` and in later `probe_ready`s.
async fn turn_credentials_wait_for_hello(backend: crate::helpers::Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.media.turn_urls = vec!["turn:turn.example.org:3478".into()];
        config.media.turn_secret = Some("s3cret".into());
    })
    .await;
    let s = setup(&app, "ana@example.com", "group", &["ben@example.com"], 10).await;
    let mut ben = client(&app, &s.tokens[0]).await.unwrap();
    send(&mut ben, json!({"type": "probe"})).await;
    let before = expect(&mut ben, "probe_ready").await;
    assert_eq!(before["ice_servers"], json!([]), "nothing before hello");
    hello(&mut ben).await;
    let welcome = expect(&mut ben, "welcome").await;
    let servers = welcome["ice_servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    assert!(servers[0]["credential"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    send(&mut ben, json!({"type": "probe"})).await;
    let after = expect(&mut ben, "probe_ready").await;
    assert_eq!(after["ice_servers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn turn_credentials_wait_for_hello_on_sqlite() {
    turn_credentials_wait_for_hello(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test]
async fn turn_credentials_wait_for_hello_on_postgres() {
    turn_credentials_wait_for_hello(crate::helpers::Backend::Postgres).await;
}
