//! The control channel between `room-load compare` and `regroup-sfu-server`:
//! one JSON object per line, requests on the server's stdin, replies and
//! engine events on its stdout. It carries what the web app's signaling
//! would, and nothing else.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// What the harness asks the engine; `id` pairs the request with its reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Join {
        id: u64,
        room: String,
        participant: String,
        sdp: String,
    },
    Answer {
        id: u64,
        room: String,
        participant: String,
        sdp: String,
    },
    Layer {
        id: u64,
        room: String,
        participant: String,
        layer: Option<usize>,
    },
}

/// What the server writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// The engine is up and listens on `udp`.
    Ready { udp: SocketAddr },
    /// The outcome of request `id`: `sdp` for a join, `error` when refused.
    Reply {
        id: u64,
        sdp: Option<String>,
        error: Option<String>,
    },
    /// `Event::Offer`: the participant must answer.
    Offer {
        room: String,
        participant: String,
        sdp: String,
    },
    /// `Event::Disconnected`.
    Disconnected {
        room: String,
        participant: String,
        reason: String,
    },
}

/// One line of JSON (no newline inside: serde_json escapes SDP's CRLFs).
pub fn to_line<T: Serialize>(value: &T) -> String {
    // Plain enums of strings and numbers always serialize.
    let mut line = serde_json::to_string(value).expect("serializable");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_single_lines_that_read_back() {
        let offer = Message::Offer {
            room: "load".into(),
            participant: "p01".into(),
            sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n".into(),
        };
        let line = to_line(&offer);
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.starts_with(r#"{"type":"offer","#), "{line}");
        let back: Message = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(back, offer);
        let req: Request = serde_json::from_str(
            r#"{"op":"layer","id":3,"room":"r","participant":"p02","layer":null}"#,
        )
        .unwrap();
        assert_eq!(
            req,
            Request::Layer {
                id: 3,
                room: "r".into(),
                participant: "p02".into(),
                layer: None
            }
        );
    }
}
