use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// Liveness: 200 when the process runs and the database answers a read.
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match sqlx::query("SELECT 1").execute(state.store.pool()).await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// How long a probe write may take before the node counts as not ready:
/// well under SQLite's 5 s busy timeout, so a held lock shows.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness: 200 only when the main database and the key store both take a
/// write now. A database that still answers reads but holds a stuck write
/// lock answers every signed-in request with 500, so only a write tells.
async fn readyz(State(state): State<AppState>) -> AppResult<Json<serde_json::Value>> {
    let now = state.clock.unix();
    let probe = async {
        state.store.probe_write(now).await?;
        state.keys.store().probe_write(now).await
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(())) => Ok(Json(serde_json::json!({ "status": "ready" }))),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "readiness: the database refused a write");
            Err(not_ready())
        }
        Err(_) => {
            tracing::error!("readiness: a database write took longer than {PROBE_TIMEOUT:?}");
            Err(not_ready())
        }
    }
}

fn not_ready() -> AppError {
    let mut err = AppError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        "The database cannot be written at the moment.",
    );
    err.retry_after = Some(5);
    err
}
