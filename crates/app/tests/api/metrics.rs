//! Prometheus metrics: off unless asked for, on their own address, and never
//! carrying a name, an email or an id.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};
use crate::room::{client, expect, expect_where, hello, setup, therapist};

#[tokio::test]
async fn metrics_are_served_only_when_asked_for_and_never_on_the_public_port() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(app.metrics_port, None);
    let (status, _) = app.page("/metrics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_show_rooms_requests_and_failures_without_phi_on_sqlite() {
    metrics_show_rooms_requests_and_failures_without_phi(Backend::Sqlite).await;
}

#[tokio::test]
async fn metrics_show_rooms_requests_and_failures_without_phi_on_postgres() {
    metrics_show_rooms_requests_and_failures_without_phi(Backend::Postgres).await;
}

async fn metrics_show_rooms_requests_and_failures_without_phi(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let port = app.metrics_port.expect("metrics are served");
    let s = setup(
        &app,
        "tamsin@example.com",
        "group",
        &["rowan.ash@example.org"],
        10,
    )
    .await;

    // Two people in the room: the therapist and a waiting client.
    let mut host = therapist(&app, &s).await;
    let mut guest = client(&app, &s.tokens[0]).await.expect("the link opens");
    hello(&mut guest).await;
    assert_eq!(expect(&mut guest, "welcome").await["state"], "waiting");
    expect_where(&mut host, "waiting_list", |list| {
        !list["people"].as_array().unwrap().is_empty()
    })
    .await;

    let read = app
        .get_auth(&format!("/api/v1/clients/{}", s.clients[0]), &s.bearer)
        .await;
    assert_eq!(read.status(), StatusCode::OK);
    let refused = app.login("tamsin@example.com", "not-the-password").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(scrape.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let body = scrape.text().await.unwrap();

    for expected in [
        "regroup_rooms 1\n",
        "regroup_room_members 2\n",
        "regroup_jobs_due ",
        "regroup_job_lag_seconds ",
        "regroup_engine_cpu_seconds{thread=\"sfu-worker-0\"} ",
        "regroup_engine_packets_total{direction=\"out\"} ",
        "regroup_engine_bytes_total{direction=\"in\"} ",
        "regroup_engine_packets_late_total 0\n",
        "route=\"/api/v1/clients/{id}\"",
        "regroup_http_request_duration_seconds_bucket",
        "regroup_sign_in_failures_total{factor=\"password\"}",
        "regroup_audit_append_seconds_bucket",
    ] {
        assert!(
            body.contains(expected),
            "{expected:?} missing from:\n{body}"
        );
    }
    let secrets = [
        "rowan",
        "Client ",
        "tamsin",
        "example",
        s.session.as_str(),
        s.clients[0].as_str(),
        s.tokens[0].as_str(),
    ];
    for secret in secrets {
        assert!(!body.contains(secret), "the metrics carry {secret:?}");
    }
}
