//! Load bench for Regroup's media engine: synthetic WebRTC participants
//! (client-side str0m over real loopback UDP) join one room through
//! `regroup_sfu::Sfu`, publish audio and a simulcast camera and receive
//! everyone else, while the engine's threads are timed from /proc.
//! `room-load compare` runs the same room against the engine in its own
//! process, Janus's VideoRoom and a plain UDP relay.
//! See `README.md` for the figures and their caveats.

mod bench;
mod chart;
pub mod compare;
pub mod control;
mod cpu;
mod engine;
pub mod figures;
pub mod markdown;
mod media;
mod peer;
mod report;
mod stamp;
mod stats;
mod targets;

pub use bench::{run, BenchConfig, LayerChoice};
pub use chart::svg as chart_svg;
pub use cpu::load_average;
pub use report::{PeerWindow, Report};
pub use stats::{Counters, FromPublisher};
