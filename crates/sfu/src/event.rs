//! Messages the engine sends to the web app.

use crate::ids::{ParticipantId, RoomId, TrackKind};

/// Something the web app must act on or may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The engine wants to renegotiate (usually to add or remove forwarded
    /// tracks). Send `sdp` to the browser as an offer and pass its answer to
    /// [`SfuHandle::answer`](crate::SfuHandle::answer). It may come right
    /// after the answer to the browser's own offer (the engine does not wait):
    /// deliver the two to the browser in the order the engine gave them.
    Offer {
        room: RoomId,
        participant: ParticipantId,
        sdp: String,
    },
    /// ICE and DTLS are up: media can flow.
    Connected {
        room: RoomId,
        participant: ParticipantId,
    },
    /// The participant is gone from the engine for `reason`.
    Disconnected {
        room: RoomId,
        participant: ParticipantId,
        reason: DisconnectReason,
    },
    /// A participant started publishing a track. `mid` is the m-line id in that
    /// participant's own SDP. Subscribers receive it in a stream whose id is
    /// `participant`.
    TrackPublished {
        room: RoomId,
        participant: ParticipantId,
        mid: String,
        kind: TrackKind,
        /// The simulcast RIDs offered for the track, low to high; empty without simulcast.
        rids: Vec<String>,
    },
    /// A participant stopped publishing a track (e.g. ended a screen share);
    /// subscribers are offered its removal.
    TrackUnpublished {
        room: RoomId,
        participant: ParticipantId,
        mid: String,
    },
    /// The bandwidth estimate towards `participant` has stayed below what
    /// the lowest layers of the pictures they receive need (`low: true`),
    /// or has been enough again (`false`), for a few seconds. The engine
    /// keeps forwarding: the app may offer them audio only.
    Downlink {
        room: RoomId,
        participant: ParticipantId,
        low: bool,
    },
    /// The loudest participant changed; `None` when everyone has been quiet.
    ActiveSpeaker {
        room: RoomId,
        participant: Option<ParticipantId>,
    },
}

/// Why a participant left the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The app called `leave`.
    Left,
    /// The app called `close_room`.
    RoomClosed,
    /// No packet arrived for the configured silence timeout.
    Timeout,
    /// The connection failed (DTLS error, closed by the peer).
    Failed,
}
