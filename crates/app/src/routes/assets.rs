//! The browser files under `web/`, compiled into the binary so it runs from anywhere.

use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

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
        "room-probe.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-probe.js"),
    ),
    (
        "room-precall.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-precall.js"),
    ),
    (
        "room-self.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-self.js"),
    ),
    (
        "room-icons.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-icons.js"),
    ),
    (
        "room-menu.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-menu.js"),
    ),
    (
        "room-layout.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-layout.js"),
    ),
    (
        "room-stats.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-stats.js"),
    ),
    (
        "room-tiles.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-tiles.js"),
    ),
    (
        "room-toolbar.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-toolbar.js"),
    ),
    (
        "room-panels.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/room-panels.js"),
    ),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{file}", get(serve))
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
