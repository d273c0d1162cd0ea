//! Integration tests through real HTTP, each on SQLite and on PostgreSQL.

mod helpers;

mod accounts;
mod audit;
mod bad_input;
mod openapi;
mod pages;
mod sessions;
mod totp;
