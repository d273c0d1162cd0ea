//! The browser files under `web/`, compiled into the binary so it runs from anywhere.

use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

use crate::error::AppError;
use crate::state::AppState;

/// A file under `web/` with its type.
macro_rules! js {
    ($name:literal) => {
        (
            $name,
            "text/javascript; charset=utf-8",
            include_str!(concat!("../../../../web/", $name)),
        )
    };
}
macro_rules! css {
    ($name:literal) => {
        (
            $name,
            "text/css; charset=utf-8",
            include_str!(concat!("../../../../web/", $name)),
        )
    };
}

const FILES: &[(&str, &str, &str)] = &[
    css!("style.css"),
    js!("app.js"),
    css!("room.css"),
    js!("room.js"),
    js!("room-devices.js"),
    js!("room-signal.js"),
    js!("room-background.js"),
    js!("room-ticker.js"),
    js!("room-probe.js"),
    js!("room-survey.js"),
    css!("room-survey.css"),
    js!("room-precall.js"),
    js!("room-self.js"),
    js!("room-audio-only.js"),
    js!("room-icons.js"),
    js!("room-menu.js"),
    js!("room-layout.js"),
    js!("room-stats.js"),
    js!("room-tiles.js"),
    js!("room-toolbar.js"),
    js!("room-panels.js"),
    // session clock
    js!("room-clock.js"),
    css!("room-clock.css"),
    // The pre-call privacy check and the sound switches.
    js!("room-privacy.js"),
    js!("room-sound.js"),
    js!("room-bilateral.js"),
    js!("room-bilateral-panel.js"),
    css!("room-bilateral.css"),
];

/// Person segmentation for background blur (`web/vendor/selfie-segmentation`,
/// third-party and unmodified), fetched by `room-background.js` only when a
/// person turns blur on. Pinned, so browsers may keep it for a day.
const SEGMENTATION: &[(&str, &str, &[u8])] = &[
    (
        "selfie_segmentation.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../../web/vendor/selfie-segmentation/selfie_segmentation.js"),
    ),
    (
        "selfie_segmentation_solution_simd_wasm_bin.js",
        "text/javascript; charset=utf-8",
        include_bytes!(
            "../../../../web/vendor/selfie-segmentation/selfie_segmentation_solution_simd_wasm_bin.js"
        ),
    ),
    (
        "selfie_segmentation_solution_simd_wasm_bin.wasm",
        "application/wasm",
        include_bytes!(
            "../../../../web/vendor/selfie-segmentation/selfie_segmentation_solution_simd_wasm_bin.wasm"
        ),
    ),
    (
        "selfie_segmentation.binarypb",
        "application/octet-stream",
        include_bytes!("../../../../web/vendor/selfie-segmentation/selfie_segmentation.binarypb"),
    ),
    (
        "selfie_segmentation_landscape.tflite",
        "application/octet-stream",
        include_bytes!(
            "../../../../web/vendor/selfie-segmentation/selfie_segmentation_landscape.tflite"
        ),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{file}", get(serve))
        // 5.7 MB of WebAssembly is 1.7 MB gzipped: phones feel the difference.
        .route(
            "/static/background/{file}",
            get(serve_segmentation).layer(CompressionLayer::new()),
        )
}

async fn serve(Path(file): Path<String>) -> Result<impl IntoResponse, AppError> {
    let (_, mime, body) = FILES
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(AppError::not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, *mime),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        *body,
    ))
}

async fn serve_segmentation(Path(file): Path<String>) -> Result<impl IntoResponse, AppError> {
    let (_, mime, body) = SEGMENTATION
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(AppError::not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, *mime),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        *body,
    ))
}
