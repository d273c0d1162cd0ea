//! The browser files under `web/`, compiled into the binary so it runs from anywhere.

use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

use crate::error::AppError;
use crate::state::AppState;

const FILES: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../../web/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/app.js"),
    ),
    (
        "room.css",
        "text/css; charset=utf-8",
        include_str!("../../../../web/room.css"),
    ),
    (
        "room.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room.js"),
    ),
    (
        "room-devices.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-devices.js"),
    ),
    (
        "room-signal.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-signal.js"),
    ),
    (
        "room-background.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-background.js"),
    ),
    (
        "room-ticker.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-ticker.js"),
    ),
    (
        "room-probe.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-probe.js"),
    ),
    (
        "room-survey.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-survey.js"),
    ),
    (
        "room-survey.css",
        "text/css; charset=utf-8",
        include_str!("../../../../web/room-survey.css"),
    ),
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
