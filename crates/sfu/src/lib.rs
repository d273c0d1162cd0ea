//! Regroup's media engine: a selective forwarding unit on str0m.
//!
//! Each participant publishes audio and video once; the engine forwards every
//! track to every other participant of the same room, choosing a simulcast
//! layer per subscriber. See `README.md` for the API and threading model.

mod config;
mod contain;
mod demux;
mod downlink;
mod error;
mod event;
mod handle;
mod ids;
mod net;
mod participant;
mod placement;
mod rewrite;
mod room;
mod simulcast;
mod speaker;
mod tcp;
mod traffic;
mod transmits;
mod worker;

pub use config::SfuConfig;
pub use error::SfuError;
pub use event::{DisconnectReason, Event};
pub use handle::{EventReceiver, Sfu, SfuHandle};
pub use ids::{ParticipantId, RoomId, TrackKind};
pub use net::widen_buffers;
pub use traffic::{Forwarded, Traffic};

#[cfg(test)]
mod audio_only_tests;
#[cfg(test)]
mod inbox_tests;
#[cfg(test)]
mod join_tests;
#[cfg(test)]
mod keyframe_tests;
#[cfg(test)]
mod pacing_tests;
#[cfg(test)]
mod room_tests;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod waiting_tests;
