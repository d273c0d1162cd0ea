//! Any bytes a socket can send, through the signaling parser: an error or a
//! message, never a panic; and whatever is refused gets a well-formed error
//! frame whose message does not quote the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use regroup::room::protocol::{parse, ServerMsg};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(refusal) = parse(text) {
        let frame = ServerMsg::error(&refusal).to_frame();
        let value: serde_json::Value =
            serde_json::from_str(&frame).expect("error frames are JSON");
        assert_eq!(value["type"], "error");
        // The message is fixed text; a long input found in it was quoted.
        // (Short inputs can be a piece of that text by chance.)
        let message = value["message"].as_str().expect("a message");
        if text.len() >= 24 {
            assert!(!message.contains(text), "an error quoted its input");
        }
    }
});
