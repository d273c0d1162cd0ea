//! What the log says about requests: one span each, named by a request id
//! and the route's template (`/join/{token}`), never the path itself, which
//! may hold ids and tokens; and the one place internal errors are logged.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::InternalCause;

/// The span of one request, for `TraceLayer::make_span_with`. The id is a
/// counter: it ties the lines of one request together and names nothing.
pub fn span(request: &Request) -> tracing::Span {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        id = NEXT_ID.fetch_add(1, Ordering::Relaxed),
        method = %request.method(),
        route,
    )
}

/// Logs the cause of an internal error, which `AppError` leaves in the
/// response (see its `IntoResponse`) instead of sending it.
pub async fn log_errors(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(InternalCause(cause)) = response.extensions_mut().remove() {
        tracing::error!(error = format!("{cause:#}"), "request failed");
    }
    response
}
