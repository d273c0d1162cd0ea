//! Identifiers the web app and the engine share.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A room, named by the web app (e.g. a session id). Opaque to the engine.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub String);

/// A participant within a room, named by the web app. Opaque to the engine.
///
/// It is also the `MediaStream` id (msid) of the tracks the engine forwards from
/// this participant, so browsers can tell whose stream is whose without a lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub String);

macro_rules! string_id {
    ($t:ty) => {
        impl From<&str> for $t {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
        impl From<String> for $t {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl $t {
            /// The id as the app gave it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}
string_id!(RoomId);
string_id!(ParticipantId);

/// Audio or video: what a therapist can stop forwarding, and what a track is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    Audio,
    Video,
}

impl From<str0m::media::MediaKind> for TrackKind {
    fn from(k: str0m::media::MediaKind) -> Self {
        match k {
            str0m::media::MediaKind::Audio => TrackKind::Audio,
            str0m::media::MediaKind::Video => TrackKind::Video,
        }
    }
}

impl From<TrackKind> for str0m::media::MediaKind {
    fn from(k: TrackKind) -> Self {
        match k {
            TrackKind::Audio => str0m::media::MediaKind::Audio,
            TrackKind::Video => str0m::media::MediaKind::Video,
        }
    }
}

/// Engine-internal key of one participant's connection, unique across the
/// whole process so the packet router can use it without knowing rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PeerKey(pub u64);

impl PeerKey {
    pub(crate) fn next() -> PeerKey {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        PeerKey(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}
