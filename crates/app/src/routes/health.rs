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

/// Readiness: 200 only when the node takes new rooms (it is not draining),
/// its media engine runs, and the main database and the key store both take
/// a write now. A database that still answers reads but holds a stuck write
/// lock answers every signed-in request with 500, so only a write tells.
async fn readyz(State(state): State<AppState>) -> AppResult<Json<serde_json::Value>> {
    if state.node.is_draining() {
        return Err(not_ready(
            "draining",
            "This node is draining: it takes no new rooms.",
        ));
    }
    if !state.sfu.running() {
        tracing::error!("readiness: the media engine has stopped");
        return Err(not_ready("media_down", "The media engine is not running."));
    }
    let now = state.clock.unix();
    let probe = async {
        state.store.probe_write(now).await?;
        state.keys.store().probe_write(now).await
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(())) => Ok(Json(serde_json::json!({ "status": "ready" }))),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "readiness: the database refused a write");
            Err(not_ready(NO_WRITE.0, NO_WRITE.1))
        }
        Err(_) => {
            tracing::error!("readiness: a database write took longer than {PROBE_TIMEOUT:?}");
            Err(not_ready(NO_WRITE.0, NO_WRITE.1))
        }
    }
}

const NO_WRITE: (&str, &str) = ("not_ready", "The database cannot be written at the moment.");

fn not_ready(code: &'static str, message: &'static str) -> AppError {
    let mut err = AppError::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
    err.retry_after = Some(5);
    err
}
