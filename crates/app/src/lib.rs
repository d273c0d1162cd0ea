//! Regroup: private video sessions for therapists and their clients.
//!
//! The library holds everything; `main.rs` only parses the command line.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod calendar_feed;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod config;
pub mod data_dir;
pub mod data_lock;
pub mod domain;
pub mod error;
pub mod export;
pub mod extract;
pub mod ids;
pub mod jobs;
pub mod keys;
pub mod mail;
pub mod monitoring;
pub mod nodes;
pub mod peer_addr;
pub mod room;
pub mod routes;
pub mod schedule;
pub mod site;
pub mod startup;
pub mod state;
pub mod store;
pub mod surveys;
pub mod telemetry;
pub mod tls;
