//! `/readyz` proves the database takes writes and the media engine runs
//! (draining is in `nodes.rs`); `/healthz` only that the process lives and
//! the database answers.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::{AnyConnection, Connection, Executor};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(readiness_fails_while_another_connection_holds_the_write_lock);

#[tokio::test]
async fn readiness_fails_once_the_media_engine_has_stopped() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let ready = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    app.state.sfu.shutdown();
    let ready = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "media_down");
    // Still alive: a restart, not a kill, is what it needs.
    let alive = app.api.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), StatusCode::OK);
}

async fn readiness_fails_while_another_connection_holds_the_write_lock(app: TestApp) {
    let ready = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    sqlx::any::install_default_drivers();
    let mut other = AnyConnection::connect(&app.config().database_url())
        .await
        .unwrap();
    let sqlite = app.config().database_url.is_none();
    // Take the write lock the way a stuck transaction holds it.
    if sqlite {
        other.execute("BEGIN IMMEDIATE").await.unwrap();
    } else {
        other.execute("BEGIN").await.unwrap();
        other
            .execute("LOCK TABLE readiness_probe IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
    }
    let locked = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(locked.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(locked.headers().contains_key("retry-after"));
    let body: Value = locked.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready");
    // Liveness is not readiness: the process is alive and reads work.
    let health = app.api.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    other.execute("ROLLBACK").await.unwrap();
    let ready = app.api.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

/// The pool checks a connection only when it sat idle (sqlx's check on every
/// hand-out cost a round trip per query). A database that dropped every
/// connection meanwhile, as a restart does, must still cost no request.
#[tokio::test]
async fn requests_after_the_database_dropped_every_idle_connection_succeed() {
    let app = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    let token = app.token_for("dana@regroup.example").await;
    // Several at once, so the pool holds more than one connection.
    let lists = (0..8).map(|_| app.get_auth("/api/v1/clients", &token));
    for list in futures_util::future::join_all(lists).await {
        assert_eq!(list.status(), StatusCode::OK);
    }

    sqlx::any::install_default_drivers();
    let mut admin = AnyConnection::connect(&app.config().database_url())
        .await
        .unwrap();
    let dropped: i64 = sqlx::query_scalar(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(dropped >= 1, "the app held no connection to drop");
    // Long enough for the pool to check every connection before using it.
    let idle = regroup::store::PING_IDLE_AFTER + std::time::Duration::from_millis(500);
    tokio::time::sleep(idle).await;

    let lists = (0..8).map(|_| app.get_auth("/api/v1/clients", &token));
    for list in futures_util::future::join_all(lists).await {
        assert_eq!(
            list.status(),
            StatusCode::OK,
            "{}",
            list.text().await.unwrap()
        );
    }
}
