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
