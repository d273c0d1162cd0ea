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

    // The next person, on connections of their own (the storm's pool holds
    // whatever the hung-up requests left): a write (client + audit entry)
    // and a read, each within a second, and a ready node.
    let next = reqwest::Client::new();
    let started = Instant::now();
    let write = next
        .post(app.url("/api/v1/clients"))
        .bearer_auth(&token)
        .json(&json!({"name": "After Storm", "email": "after@example.com"}));
    let created = within_a_second(write, "the write after the storm").await;
    let created = answer(created, StatusCode::CREATED, "the write after the storm").await;
    let id = created["id"].as_str().unwrap().to_owned();
    // One client, not the list: the storm added thousands, and listing them
    // all is slow for reasons that have nothing to do with locks.
    let read = next
        .get(app.url(&format!("/api/v1/clients/{id}")))
        .bearer_auth(&token);
    let read = within_a_second(read, "the read after the storm").await;
    answer(read, StatusCode::OK, "the read after the storm").await;
    let ready = within_a_second(next.get(app.url("/readyz")), "/readyz after the storm").await;
    answer(ready, StatusCode::OK, "/readyz after the storm").await;
    eprintln!(
        "{backend:?}: {sent} dropped requests; recovered in {:?}",
        started.elapsed()
    );
}

/// The body of a response with the expected status; any other status fails
/// with the body, so a failure in CI says what the server answered.
async fn answer(response: reqwest::Response, want: StatusCode, what: &str) -> serde_json::Value {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, want, "{what} answered {status}: {body}");
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

/// The response to `request`, which must come within a second; a failure
/// says which request and what went wrong.
async fn within_a_second(request: reqwest::RequestBuilder, what: &str) -> reqwest::Response {
    match tokio::time::timeout(Duration::from_secs(1), request.send()).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => panic!("{what} failed: {err:#}"),
        Err(_) => panic!("{what} got no answer within 1 s"),
    }
}
