use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Only our own scripts, styles and media; no inline script, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The room's page may also compile our own WebAssembly (the background
/// blur's segmentation model); it still runs no `eval` and nothing foreign.
const CSP_WITH_WASM: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; \
    font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Put on a response (as an extension) whose page runs WebAssembly.
#[derive(Clone, Copy)]
pub struct RunsWasm;

pub async fn apply(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let csp = if response.extensions().get::<RunsWasm>().is_some() {
        CSP_WITH_WASM
    } else {
        CSP
    };
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // `same-origin`: our own pages still send `Origin` (and a Referer) to us,
    // which `no-referrer` stopped (browsers then sent `Origin: null` on every
    // form). Nothing at all goes to other sites: our URLs hold join tokens
    // and ids, and even our bare origin would tell a linked site that its
    // visitor uses a therapy platform, which `strict-origin-when-cross-origin`
    // would reveal.
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        HeaderName::from_static("permissions-policy"),
        "camera=(self), microphone=(self), display-capture=(self), geolocation=(), interest-cohort=()",
    );
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if !is_asset {
        // Pages may show personal data: no shared or back-button caches.
        set(header::CACHE_CONTROL, "no-store");
    }
    if state.settings.tls() {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    response
}
