//! Clients that hang up mid-request must not leave the database locked: a
//! storm of signed-in requests, each dropped after 0–30 ms, then a normal
//! request must succeed at once and `/readyz` must say the database is
//! writable. The storm lasts the minute the review named
//! (`REGROUP_STORM_SECONDS` shortens it while working on this test). It runs
//! alone: sharing two cores with the rest of the suite (and with the other
//! backend's storm) once made the second after it too short on PostgreSQL.

use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

/// Several threads, as in production, so handlers run while others are dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    a_storm_of_dropped_requests_leaves_the_database_writable(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    a_storm_of_dropped_requests_leaves_the_database_writable(Backend::Postgres).await;
}

fn storm_length() -> Duration {
    let seconds = std::env::var("REGROUP_STORM_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(seconds)
}

const WORKERS: usize = 16;

async fn a_storm_of_dropped_requests_leaves_the_database_writable(backend: Backend) {
    let app = TestApp::spawn_alone(backend).await;
    let token = app.token_for("ana@example.com").await;
    let end = Instant::now() + storm_length();
    let workers = (0..WORKERS).map(|worker| {
        let (api, base, token) = (app.api.clone(), app.base.clone(), token.clone());
        tokio::spawn(async move {
            let mut sent = 0u32;
            while Instant::now() < end {
                sent += 1;
                let request = match sent % 3 {
                    // Each of these writes an audit entry in a transaction;
                    // the POST also writes a client row.
                    0 => api.get(format!("{base}/api/v1/clients")),
                    1 => api.post(format!("{base}/api/v1/clients")).json(&json!({
                        "name": "Storm Client",
                        "email": format!("storm-{worker}-{sent}@example.com"),
                    })),
                    _ => api.get(format!("{base}/api/v1/me/export")),
                };
                let patience = Duration::from_millis(rand::thread_rng().gen_range(0..=30));
                let _ = tokio::time::timeout(patience, request.bearer_auth(&token).send()).await;
            }
            sent
        })
    });
    let sent: u32 = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .map(|r| r.expect("storm worker"))
        .sum();
    assert!(sent > 100, "the storm sent only {sent} requests");

    // A write (client + audit entry) and a read, each within a second.
    let started = Instant::now();
    let created = tokio::time::timeout(
        Duration::from_secs(1),
        app.post_auth(
            "/api/v1/clients",
            &token,
            &json!({"name": "After Storm", "email": "after@example.com"}),
        ),
    )
    .await
    .expect("a write answers within 1 s after the storm");
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // One client, not the list: the storm added thousands, and listing them
    // all is slow for reasons that have nothing to do with locks.
    let read = tokio::time::timeout(
        Duration::from_secs(1),
        app.get_auth(&format!("/api/v1/clients/{id}"), &token),
    )
    .await
    .expect("a read (with its audit entry) answers within 1 s after the storm");
    assert_eq!(read.status(), StatusCode::OK);
    let ready = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    eprintln!(
        "{backend:?}: {sent} dropped requests; recovered in {:?}",
        started.elapsed()
    );
}
