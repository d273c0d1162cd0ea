//! Offers as strangers could send them, into the running media engine: a
//! first offer (`join`), then a re-offer (`offer`) from the same peer, the
//! two split at a line `---`. Whatever the SDP, the engine answers or
//! refuses, and keeps serving: after every input it still answers a call.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use regroup_sfu::{Sfu, SfuConfig, SfuError, SfuHandle};

struct Engine {
    runtime: tokio::runtime::Runtime,
    handle: SfuHandle,
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        // libFuzzer's hook aborts on any panic, even one the engine contains
        // (str0m asserts on some SDP; see crates/sfu/src/contain.rs). Print
        // instead: a panic the engine does not contain still ends the run,
        // through the liveness check below.
        std::panic::set_hook(Box::new(|info| eprintln!("contained: {info}")));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let config = SfuConfig {
            udp_addr: "127.0.0.1:0".parse().expect("an address"),
            tcp_addr: None,
            workers: 1,
            ..SfuConfig::default()
        };
        let (handle, events) = runtime
            .block_on(async { Sfu::start(config) })
            .expect("the engine starts");
        // Nobody reads the engine's events here; dropping the receiver is fine.
        drop(events);
        Engine { runtime, handle }
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (first, second) = text.split_once("\n---\n").unwrap_or((&text, ""));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let who = format!("p{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let engine = engine();
    engine.runtime.block_on(async {
        let h = &engine.handle;
        if h.join("fuzz", who.as_str(), first).await.is_ok() {
            let _ = h.offer("fuzz", who.as_str(), second).await;
            let _ = h.answer("fuzz", who.as_str(), second).await;
            h.leave("fuzz", who.as_str()).await.expect("a joined peer leaves");
        }
        // Still serving: an unknown peer is refused as such, not as a dead engine.
        match h.leave("fuzz", "nobody").await {
            Err(SfuError::NoSuchParticipant) | Err(SfuError::NoSuchRoom) => {}
            other => panic!("the engine stopped answering: {other:?}"),
        }
    });
});
