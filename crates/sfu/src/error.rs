//! The one error type the handle returns.

use thiserror::Error;

/// What can go wrong when the web app calls the engine.
///
/// Messages are safe to log; none contains SDP or addresses.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SfuError {
    /// The SDP text could not be parsed, or str0m refused it (e.g. no m-lines,
    /// no fingerprint). The room is unaffected.
    #[error("invalid SDP: {0}")]
    InvalidSdp(String),
    #[error("no such room")]
    NoSuchRoom,
    #[error("no such participant in this room")]
    NoSuchParticipant,
    #[error("participant already joined this room")]
    AlreadyJoined,
    /// `answer` was called while the engine had no offer outstanding (or the
    /// offer was superseded by a browser offer or timed out).
    #[error("no offer is pending for this participant")]
    NoPendingOffer,
    #[error("room is full")]
    RoomFull,
    /// Binding sockets or spawning threads failed at start.
    #[error("i/o error while {0}")]
    Io(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The engine has shut down or a worker has stopped.
    #[error("media engine is not running")]
    Stopped,
}
