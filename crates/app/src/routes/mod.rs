//! Every route of the server, and the layers every response passes through.

mod api;
mod assets;
mod calendar;
mod health;
mod pages;
mod request_checks;
mod request_log;
pub(crate) mod security_headers;

use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// Bodies larger than this are refused before any handler reads them.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(assets::router())
        .merge(calendar::router())
        .merge(api::router())
        .merge(pages::router(state.clone()))
        .merge(crate::room::ws::router())
        .fallback(no_route)
        .method_not_allowed_fallback(request_checks::method_not_allowed)
        // Innermost, so the matched route's template is known.
        .layer(middleware::from_fn(crate::monitoring::http::record))
        .layer(middleware::from_fn(request_checks::layer))
        // Inside `html_errors`, which answers pages with a new response.
        .layer(middleware::from_fn(request_log::log_errors))
        .layer(middleware::from_fn(html_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::site::analytics::record,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers::apply,
        ))
        // Outermost: everything inside sees the resolved client address.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::peer_addr::layer,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Every layer here runs after routing, so even the outermost span
        // knows the route's template.
        .layer(TraceLayer::new_for_http().make_span_with(request_log::span))
        .with_state(state)
}

async fn no_route() -> AppError {
    AppError::new(
        axum::http::StatusCode::NOT_FOUND,
        "no_route",
        "There is nothing at this address.",
    )
}

/// Paths read by programs, not people: the API and the probes.
pub fn answers_json(path: &str) -> bool {
    path.starts_with("/api/") || path == "/readyz" || path == "/healthz"
}

/// Errors answer in JSON on the API and as a page everywhere else.
async fn html_errors(request: Request, next: Next) -> Response {
    let wants_json = answers_json(request.uri().path());
    let response = next.run(request).await;
    if wants_json {
        return response;
    }
    match response.extensions().get::<ErrorBody>().cloned() {
        Some(body) => {
            let status = response.status();
            let mut page = pages::error_page(status, &body.error.message).into_response();
            if let Some(retry) = response.headers().get(axum::http::header::RETRY_AFTER) {
                page.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, retry.clone());
            }
            page
        }
        None => response,
    }
}
