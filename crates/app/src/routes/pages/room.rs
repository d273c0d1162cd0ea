//! `/sessions/{id}/room`: the therapist's video room. The same page as the
//! client's pre-call page (`join.rs`): a device check, then the room.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};

use super::{render, MessagePage, Nav};
use crate::auth::csrf::CsrfToken;
use crate::auth::session::PageTherapist;
use crate::error::{AppError, AppResult};
use crate::ids::SessionId;
use crate::routes::security_headers::RunsWasm;
use crate::schedule::invitations::{self, Window};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/sessions/{id}/room", get(room))
}

/// The room page; `role` and `kind` steer `web/room.js`.
#[derive(Template)]
#[template(path = "room.html")]
pub struct RoomPage {
    pub nav: Nav,
    pub title: String,
    pub intro: Vec<String>,
    pub ws_path: String,
    /// See `node_socket`.
    pub ws_node: String,
    pub role: &'static str,
    pub kind: String,
    pub suggested_name: String,
}

/// The full socket URL on the node that holds (or should start) the
/// session's room when that is another node; empty when it is this one.
/// The page goes there first but keeps `path` on the node it came from as
/// its way back: should the room's node die, its reconnection then reaches
/// a live node through the proxy's shared route, not the dead node's prefix.
pub async fn node_socket(
    state: &AppState,
    session_id: &SessionId,
    path: &str,
) -> AppResult<String> {
    Ok(crate::nodes::placement::elsewhere(state, session_id, path)
        .await?
        .unwrap_or_default())
}

impl RoomPage {
    pub fn respond(&self) -> Response {
        let mut response = render(StatusCode::OK, self);
        response.extensions_mut().insert(RunsWasm);
        response
    }
}

async fn room(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageTherapist(signed): PageTherapist,
    Path(id): Path<SessionId>,
) -> AppResult<Response> {
    let nav = Nav::signed(&csrf, &signed);
    let session = state
        .store
        .session_of(&signed.account.id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let when = invitations::when(session.starts_at, &session.time_zone);
    let closed = |text: &str| {
        Ok(MessagePage::new(nav.clone(), "The room is closed", &[text])
            .link("/dashboard", "Back to the dashboard")
            .respond(StatusCode::GONE))
    };
    if session.is_cancelled() {
        return closed("This session was cancelled.");
    }
    if state.rooms.is_ended(&session.id) {
        return closed("You ended this session.");
    }
    match state.rooms.window(&session, state.clock.unix()) {
        Window::Ended => closed("This session's time is over."),
        Window::TooEarly => Ok(MessagePage::new(
            nav,
            "The room is not open yet",
            &[&format!(
                "This session is on {when}. The room opens 30 minutes before the start."
            )],
        )
        .link("/dashboard", "Back to the dashboard")
        .respond(StatusCode::OK)),
        Window::Open => {
            let group = session.is_group();
            let ws_path = format!("/sessions/{}/ws", session.id);
            let ws_node = node_socket(&state, &session.id, &ws_path).await?;
            Ok(RoomPage {
                nav,
                title: if group {
                    "Group session".into()
                } else {
                    "Video session".into()
                },
                intro: vec![format!(
                    "{when}, {} minutes. Check your camera and microphone, then join: your clients wait until you let them in.",
                    session.duration_minutes
                )],
                ws_path,
                ws_node,
                role: "therapist",
                kind: session.kind.as_str().into(),
                suggested_name: String::new(),
            }
            .respond())
        }
    }
}
