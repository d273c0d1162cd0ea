//! `/calendar/{secret}.ics`: the therapist's subscribed calendar feed.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::error::AppResult;
use crate::extract::PeerAddr;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    // The router matches whole segments, so `.ics` is checked by the handler.
    Router::new().route("/calendar/{file}", get(feed))
}

async fn feed(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    Path(file): Path<String>,
) -> AppResult<impl IntoResponse> {
    let body = crate::calendar_feed::fetch(&state, &file, addr).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        body,
    ))
}
