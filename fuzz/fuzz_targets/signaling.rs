//! Any bytes a socket can send, through the signaling parser: an error or a
//! message, never a panic; and whatever is refused gets a well-formed error
//! frame whose message is fixed text, never a quote of the input.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use regroup::room::protocol::{parse, ServerMsg};

/// Distinct error messages seen per error code. Messages are fixed text
/// (at most one per message type), so a message that quoted its input would
/// make this grow without bound.
static SEEN: Mutex<BTreeMap<String, BTreeSet<String>>> = Mutex::new(BTreeMap::new());
const MOST_MESSAGES_PER_CODE: usize = 40;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(refusal) = parse(text) {
        let frame = ServerMsg::error(&refusal).to_frame();
        let value: serde_json::Value =
            serde_json::from_str(&frame).expect("error frames are JSON");
        assert_eq!(value["type"], "error");
        let code = value["code"].as_str().expect("a code").to_string();
        let message = value["message"].as_str().expect("a message").to_string();
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        let messages = seen.entry(code).or_default();
        messages.insert(message);
        assert!(
            messages.len() <= MOST_MESSAGES_PER_CODE,
            "error messages vary with the input: {messages:?}"
        );
    }
});
