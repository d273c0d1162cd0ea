//! The signaling messages, version 1. Every frame is one JSON object with `v`
//! (always 1) and `type`; `docs/signaling.md` lists them with examples.
//! Parsing never panics: anything wrong becomes a `Refusal` that is sent back
//! to the sender as an `error` message, and the room goes on.

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;
/// Largest text frame the room reads. A 16-person SDP answer (32 m-lines with
/// simulcast) stays well below it; bigger frames get an error, not a read.
pub const MAX_FRAME: usize = 128 * 1024;
/// Longest chat message, in characters.
pub const MAX_CHAT: usize = 2000;
/// Longest name a client may give themselves, in characters.
pub const MAX_NAME: usize = 60;

/// What a browser may send.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// First message on every socket: who I am to the others, and for a
    /// group client the confidentiality acknowledgement.
    Hello {
        #[serde(default)]
        display_name: Option<String>,
        #[serde(default)]
        ack_confidential: bool,
    },
    /// A browser offer. `fresh` means a new RTCPeerConnection (first join or
    /// reconnect); otherwise a renegotiation (screen share, ICE restart).
    MediaOffer {
        sdp: String,
        #[serde(default)]
        fresh: bool,
    },
    /// The browser's answer to a `media_offer` from the server.
    MediaAnswer {
        sdp: String,
    },
    Chat {
        text: String,
    },
    /// The participant's own microphone and camera switches.
    SelfState {
        audio: bool,
        video: bool,
        /// A raised hand (added within version 1); absent means unchanged.
        #[serde(default)]
        hand: Option<bool>,
        // -- headphones (pre-call privacy check) --
        /// Whether the browser names headphones among the devices in use
        /// (added within version 1); absent means unchanged. Shown to the
        /// therapist only; never stored or logged.
        #[serde(default)]
        headphones: Option<bool>,
        // -- end headphones --
    },
    /// Screen sharing started or stopped.
    Screen {
        on: bool,
    },
    /// Audio only (`on: true`): the engine stops writing video to this
    /// participant; `false` brings pictures back.
    AudioOnly {
        on: bool,
    },
    Leave,
    Ping,
    /// Pre-call check: asks for the ICE servers of a throwaway connection.
    Probe,
    /// Pre-call check: an offer for a throwaway connection that publishes nothing.
    ProbeOffer {
        sdp: String,
    },
    /// Pre-call check done: the server drops the throwaway connection.
    ProbeEnd,
    // The therapist's controls; `id` is a participant id from `roster`/`waiting`.
    Admit {
        id: String,
    },
    AdmitAll,
    Deny {
        id: String,
    },
    ToWaiting {
        id: String,
    },
    Lock {
        locked: bool,
    },
    Mute {
        id: String,
    },
    CameraOff {
        id: String,
    },
    /// Lets a participant the therapist muted (or whose camera they stopped) turn it back on.
    AllowUnmute {
        id: String,
    },
    AllowScreen {
        id: String,
        allowed: bool,
    },
    Remove {
        id: String,
    },
    End,
    // ---- session clock (therapist only; see actor/clock.rs) ----
    /// Fifteen more minutes on the scheduled end. A struct variant, so that
    /// any field (a wished-for length) is refused rather than ignored.
    Extend {},
    /// Clients see the session clock (`on`) or stop seeing it.
    ShowClock {
        on: bool,
    },
    // ---- end of session clock ----
    // ---- Bilateral stimulation (EMDR), the therapist's only; see `room/bilateral.rs`.
    /// Starts, changes or pauses (`running: false`) the moving dot for one client.
    Bilateral {
        target: String,
        running: bool,
        speed: f64,
        color: String,
        size: u32,
        tones: bool,
    },
    BilateralStop,
    // ---- end of bilateral stimulation
}

const TYPES: &[&str] = &[
    "hello",
    "media_offer",
    "media_answer",
    "chat",
    "self_state",
    "screen",
    "audio_only",
    "leave",
    "ping",
    "probe",
    "probe_offer",
    "probe_end",
    "admit",
    "admit_all",
    "deny",
    "to_waiting",
    "lock",
    "mute",
    "camera_off",
    "allow_unmute",
    "allow_screen",
    "remove",
    "end",
    // session clock
    "extend",
    "show_clock",
    "bilateral",
    "bilateral_stop",
];

/// Why a frame was not acted on; sent back as `{"type":"error", code, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<ClientMsg, Refusal> {
    if text.len() > MAX_FRAME {
        return Err(too_large());
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| Refusal::new("bad_json", "The message is not valid JSON."))?;
    let Some(object) = value.as_object() else {
        return Err(Refusal::new("bad_json", "A message is a JSON object."));
    };
    match object.get("v").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        _ => {
            return Err(Refusal::new(
                "unsupported_version",
                "Send \"v\": 1 with every message.",
            ))
        }
    }
    let kind = object.get("type").and_then(|t| t.as_str()).unwrap_or("");
    if !TYPES.contains(&kind) {
        // The type is not echoed: it is whatever the sender put there.
        return Err(Refusal::new(
            "unknown_type",
            "This message type is unknown.",
        ));
    }
    let mut object = object.clone();
    object.remove("v");
    // The message is not quoted in the error: it may hold chat or SDP.
    serde_json::from_value(serde_json::Value::Object(object)).map_err(|_| {
        Refusal::new(
            "bad_message",
            format!("The {kind} message is missing a field or has a wrong one."),
        )
    })
}

pub fn too_large() -> Refusal {
    Refusal::new(
        "too_large",
        format!("Messages are limited to {} KiB.", MAX_FRAME / 1024),
    )
}

/// A participant as others see them.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    /// `therapist` or `client`
    pub role: &'static str,
    /// The id of this person's media stream (`MediaStream.id` in `ontrack`), if connected.
    pub stream: Option<String>,
    pub audio: bool,
    pub video: bool,
    pub host_muted: bool,
    pub host_camera_off: bool,
    pub sharing: bool,
    /// Whether the therapist allows this person to share their screen.
    pub may_share: bool,
    pub connected: bool,
    /// A raised hand (`self_state` with `hand: true`), until lowered.
    pub hand: bool,
    /// On audio only: receives no video (and sends none).
    pub audio_only: bool,
    // -- headphones (pre-call privacy check) --
    /// In the therapist's roster only, on a client whose browser names
    /// headphones in use; absent everywhere else (unknown is not "no").
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub headphones: bool,
    // -- end headphones --
}

#[derive(Debug, Clone, Serialize)]
pub struct WaitingView {
    pub id: String,
    pub name: String,
}

/// A TURN server with credentials, in `RTCIceServer` form.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// What the server sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The answer to `hello`.
    Welcome {
        you: String,
        role: &'static str,
        kind: &'static str,
        /// `waiting` or `admitted`
        state: &'static str,
        ice_servers: Vec<IceServer>,
        /// A waiting client may send `media_offer` before admission; the
        /// engine holds its media until then (added within version 1).
        media_while_waiting: bool,
    },
    Waiting {
        message: &'static str,
    },
    Admitted,
    /// The network towards this participant has stayed too slow for the
    /// pictures they receive (`low: true`), or is enough again; the page
    /// offers audio only (added within version 1).
    Downlink {
        low: bool,
    },
    /// Back to the waiting room: close the media connection.
    MovedToWaiting {
        message: &'static str,
    },
    /// The room lives on another node: reconnect to `url` (the socket
    /// closes; added within version 1).
    Moved {
        url: String,
    },
    /// The following messages end the socket.
    Denied {
        message: &'static str,
    },
    Removed {
        message: &'static str,
    },
    Ended {
        message: &'static str,
        /// A ticket for the satisfaction survey (`POST /api/v1/surveys`),
        /// only to people in the room when the session ended; absent when
        /// there is no survey (closed from outside, or not in the room).
        #[serde(skip_serializing_if = "Option::is_none")]
        survey: Option<String>,
    },
    Locked {
        message: &'static str,
    },
    /// Another tab or device took over this participant.
    Replaced,
    /// Everyone admitted, the receiver included.
    Roster {
        people: Vec<PersonView>,
        locked: bool,
    },
    /// Only to the therapist.
    WaitingList {
        people: Vec<WaitingView>,
    },
    MediaAnswer {
        sdp: String,
    },
    MediaOffer {
        sdp: String,
    },
    /// The media connection dropped on the server's side: start a fresh one.
    MediaLost,
    /// The answer to `probe`: ICE servers for the pre-call check.
    ProbeReady {
        ice_servers: Vec<IceServer>,
    },
    /// The answer to `probe_offer`.
    ProbeAnswer {
        sdp: String,
    },
    Chat {
        from: String,
        name: String,
        /// The sender's role (`therapist` or `client`): pages mark the
        /// therapist's messages so a look-alike name cannot pose as them.
        role: &'static str,
        text: String,
    },
    /// The receiver's own permissions, after the therapist changed them.
    Controls {
        host_muted: bool,
        host_camera_off: bool,
        may_unmute: bool,
        may_share: bool,
    },
    Speaker {
        id: Option<String>,
    },
    // ---- Bilateral stimulation: to its target client and the therapist.
    /// The moving dot's settings; each page animates it from its own clock.
    Bilateral {
        target: String,
        running: bool,
        speed: f64,
        color: String,
        size: u32,
        tones: bool,
    },
    /// The dot is gone (stopped, or its target left the room).
    BilateralStop {
        target: String,
    },
    // ---- end of bilateral stimulation
    Pong,
    // ---- session clock (see actor/clock.rs) ----
    /// The session's times as the server sees them, in unix seconds; the
    /// page measures its own clock's offset from `now`. Always to the
    /// therapist; to clients only while `shown`.
    Clock {
        starts_at: i64,
        ends_at: i64,
        /// While the therapist stays, the room closes by itself only here.
        closes_at: i64,
        now: i64,
        /// Whether clients see the clock.
        shown: bool,
    },
    /// To clients: the therapist stopped showing them the clock.
    ClockHidden,
    // ---- end of session clock ----
    Error {
        code: &'static str,
        message: String,
    },
}

impl ServerMsg {
    pub fn error(refusal: &Refusal) -> Self {
        ServerMsg::Error {
            code: refusal.code,
            message: refusal.message.clone(),
        }
    }

    /// The JSON frame, with the version.
    pub fn to_frame(&self) -> String {
        #[derive(Serialize)]
        struct Framed<'a> {
            v: u32,
            #[serde(flatten)]
            msg: &'a ServerMsg,
        }
        // Plain structs of strings and bools always serialize.
        serde_json::to_string(&Framed {
            v: VERSION,
            msg: self,
        })
        .expect("signaling messages serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_known_message() {
        let msg = parse(r#"{"v":1,"type":"chat","text":"hi"}"#).unwrap();
        assert_eq!(msg, ClientMsg::Chat { text: "hi".into() });
        assert_eq!(
            parse(r#"{"v":1,"type":"admit_all"}"#).unwrap(),
            ClientMsg::AdmitAll
        );
        // `hand` is optional: an older page leaves it out.
        assert_eq!(
            parse(r#"{"v":1,"type":"self_state","audio":true,"video":false}"#).unwrap(),
            ClientMsg::SelfState {
                audio: true,
                video: false,
                hand: None,
                headphones: None
            }
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"self_state","audio":true,"video":true,"hand":true}"#).unwrap(),
            ClientMsg::SelfState {
                audio: true,
                video: true,
                hand: Some(true),
                headphones: None
            }
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"self_state","audio":true,"video":true,"hand":"up"}"#)
                .unwrap_err()
                .code,
            "bad_message"
        );
    }

    // -- headphones (pre-call privacy check) --
    #[test]
    fn headphones_is_an_optional_boolean() {
        assert_eq!(
            parse(r#"{"v":1,"type":"self_state","audio":true,"video":true,"headphones":true}"#)
                .unwrap(),
            ClientMsg::SelfState {
                audio: true,
                video: true,
                hand: None,
                headphones: Some(true)
            }
        );
        for bad in [r#""yes""#, "1", r#"{"on":true}"#] {
            let frame = format!(
                r#"{{"v":1,"type":"self_state","audio":true,"video":true,"headphones":{bad}}}"#
            );
            assert_eq!(parse(&frame).unwrap_err().code, "bad_message", "{bad}");
        }
    }
    // -- end headphones --

    #[test]
    fn audio_only_takes_a_boolean() {
        assert_eq!(
            parse(r#"{"v":1,"type":"audio_only","on":true}"#).unwrap(),
            ClientMsg::AudioOnly { on: true }
        );
        for bad in [
            r#"{"v":1,"type":"audio_only"}"#,
            r#"{"v":1,"type":"audio_only","on":"yes"}"#,
            r#"{"v":1,"type":"audio_only","on":true,"video":false}"#,
        ] {
            assert_eq!(parse(bad).unwrap_err().code, "bad_message", "{bad}");
        }
    }

    #[test]
    fn refuses_garbage_with_a_code() {
        assert_eq!(parse("{not json").unwrap_err().code, "bad_json");
        assert_eq!(parse("[1,2]").unwrap_err().code, "bad_json");
        assert_eq!(
            parse(r#"{"type":"chat","text":"x"}"#).unwrap_err().code,
            "unsupported_version"
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"launch"}"#).unwrap_err().code,
            "unknown_type"
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"admit"}"#).unwrap_err().code,
            "bad_message"
        );
        let big = format!(
            r#"{{"v":1,"type":"chat","text":"{}"}}"#,
            "a".repeat(MAX_FRAME)
        );
        assert_eq!(parse(&big).unwrap_err().code, "too_large");
    }

    #[test]
    fn errors_never_quote_the_message() {
        let err = parse(r#"{"v":1,"type":"chat","text":5,"secret":"Ben"}"#).unwrap_err();
        assert!(!err.message.contains("Ben"));
    }

    #[test]
    fn parses_the_clock_controls() {
        assert_eq!(
            parse(r#"{"v":1,"type":"extend"}"#).unwrap(),
            ClientMsg::Extend {}
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"show_clock","on":true}"#).unwrap(),
            ClientMsg::ShowClock { on: true }
        );
        for bad in [
            r#"{"v":1,"type":"show_clock"}"#,
            r#"{"v":1,"type":"show_clock","on":"yes"}"#,
            r#"{"v":1,"type":"extend","minutes":600}"#,
        ] {
            assert_eq!(parse(bad).unwrap_err().code, "bad_message", "{bad}");
        }
    }

    #[test]
    fn frames_carry_the_version() {
        let frame = ServerMsg::Pong.to_frame();
        assert_eq!(frame, r#"{"v":1,"type":"pong"}"#);
    }
}
