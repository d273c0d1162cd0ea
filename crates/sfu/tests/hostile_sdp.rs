//! A first offer that makes str0m panic (an audio m-line claiming a video
//! codec's payload type, found by `fuzz/sdp`) is refused as invalid, and the
//! engine goes on serving the room. (Re-offers and answers go through the
//! same `contained` guard; no input has made them panic yet.)

use regroup_sfu::{Sfu, SfuConfig, SfuError};

const HOSTILE: &str = include_str!("fixtures/offer-payload-type-claimed-twice.sdp");
const CHROMIUM: &str = include_str!("fixtures/chromium-offer.sdp");

fn engine() -> regroup_sfu::SfuHandle {
    let config = SfuConfig {
        udp_addr: "127.0.0.1:0".parse().unwrap(),
        tcp_addr: None,
        workers: 1,
        ..SfuConfig::default()
    };
    let (handle, _events) = Sfu::start(config).expect("the engine starts");
    handle
}

#[tokio::test]
async fn an_offer_that_panics_str0m_is_refused_and_the_room_goes_on() {
    let sfu = engine();
    let refused = sfu.join("room", "mallory", HOSTILE).await;
    assert!(
        matches!(refused, Err(SfuError::InvalidSdp(_))),
        "{refused:?}"
    );

    // The worker lives: a real browser's offer joins the same room.
    let answer = sfu.join("room", "ben", CHROMIUM).await.expect("ben joins");
    assert!(answer.starts_with("v=0"));

    // Someone already in the room is not disturbed by another such offer.
    let refused = sfu.join("room", "mallory", HOSTILE).await;
    assert!(
        matches!(refused, Err(SfuError::InvalidSdp(_))),
        "{refused:?}"
    );
    sfu.join("room", "cleo", CHROMIUM)
        .await
        .expect("cleo joins");
    sfu.leave("room", "ben").await.expect("ben is still in");
    sfu.leave("room", "cleo").await.expect("cleo is still in");
    sfu.shutdown();
}
