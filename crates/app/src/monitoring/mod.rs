//! Prometheus metrics for operators, on their own listen address
//! (`--metrics-listen`), off unless asked for. Labels carry route templates,
//! status codes, outcomes and thread names only: never a name, an email or an
//! id, so a scrape can go to any monitoring system without carrying PHI.
//!
//! Events (requests, failures, latencies) are recorded with the `metrics`
//! macros, which cost nothing while no recorder is installed. Levels that are
//! cheaper to read than to keep (rooms, job lag, engine CPU and traffic) are
//! read from this server's state at scrape time (`gauges.rs`).

mod gauges;
pub mod http;

use std::net::SocketAddr;
use std::sync::OnceLock;

use anyhow::Context;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::state::AppState;

/// Names of what is measured, in one place for code and docs.
pub mod names {
    pub const HTTP_REQUESTS: &str = "regroup_http_requests_total";
    pub const HTTP_DURATION: &str = "regroup_http_request_duration_seconds";
    pub const ROOMS: &str = "regroup_rooms";
    pub const ROOM_MEMBERS: &str = "regroup_room_members";
    pub const JOB_LAG: &str = "regroup_job_lag_seconds";
    pub const JOBS_DUE: &str = "regroup_jobs_due";
    pub const AUDIT_APPEND: &str = "regroup_audit_append_seconds";
    pub const SIGN_IN_FAILURES: &str = "regroup_sign_in_failures_total";
    pub const THROTTLED: &str = "regroup_throttled_total";
    pub const ENGINE_CPU: &str = "regroup_engine_cpu_seconds";
    pub const ENGINE_PACKETS: &str = "regroup_engine_packets_total";
    pub const ENGINE_BYTES: &str = "regroup_engine_bytes_total";
    pub const ENGINE_LATE: &str = "regroup_engine_packets_late_total";
}

/// Latency buckets in seconds: fine below 10 ms, where the targets are.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once; later calls get the same one
/// (one process serves one node; tests start several servers in one process).
pub fn install() -> anyhow::Result<&'static PrometheusHandle> {
    if let Some(handle) = RECORDER.get() {
        return Ok(handle);
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .context("while setting histogram buckets")?
        .build_recorder();
    let handle = recorder.handle();
    // A second caller racing us loses here; the winner's handle is kept.
    if metrics::set_global_recorder(recorder).is_ok() {
        let _ = RECORDER.set(handle);
    }
    RECORDER
        .get()
        .context("another metrics recorder is already installed")
}

/// Whether anything is recorded; lets hot paths skip building labels.
pub fn enabled() -> bool {
    RECORDER.get().is_some()
}

/// Binds the metrics listener; serving starts with `serve`.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    install()?;
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("while binding the metrics address {addr}"))
}

/// Serves `GET /metrics` (and nothing else) until the task is aborted.
pub async fn serve(listener: TcpListener, state: AppState) {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(state);
    if let Err(err) = axum::serve(listener, app).await {
        tracing::error!(error = %err, "the metrics listener stopped");
    }
}

async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = match RECORDER.get() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    };
    body.push_str(&gauges::render(&state).await);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}
