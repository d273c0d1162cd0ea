//! Load bench for Regroup's media engine: synthetic WebRTC participants
//! (client-side str0m over real loopback UDP) join one room through
//! `regroup_sfu::Sfu`, publish audio and a simulcast camera and receive
//! everyone else, while the engine's threads are timed from /proc.
//! See `README.md` for the figures and their caveats.

mod bench;
mod cpu;
mod media;
mod peer;
mod report;
mod stats;

pub use bench::{run, BenchConfig, LayerChoice};
pub use report::{PeerWindow, Report};
pub use stats::{Counters, FromPublisher};
