//! Integration tests through real HTTP, each on SQLite and on PostgreSQL.

mod helpers;

mod accounts;
mod audit;
mod audit_anchor;
mod backups;
mod bad_input;
mod clients;
mod data_dir;
mod dev_outbox;
mod dropped_requests;
mod geoip;
mod keys;
mod loose_input;
mod mail_throttle;
mod odd_requests;
mod openapi;
mod pages;
mod privacy;
mod proxy;
mod readiness;
mod room;
mod room_held;
mod room_identity;
mod room_limits;
mod room_outside;
mod room_probe;
mod schedule_pages;
mod sessions;
mod sign_in_throttle;
mod site;
mod site_retention;
mod tls;
mod totp;
mod video_sessions;
