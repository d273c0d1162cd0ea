//! `/join/{token}`: where a client's emailed link lands: the pre-call check
//! (camera, microphone, speaker, connection), the confidentiality
//! acknowledgement for groups, then the waiting room and the room itself.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};

use super::room::RoomPage;
use super::{MessagePage, Nav};
use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::auth::csrf::CsrfToken;
use crate::auth::tokens::hash_token;
use crate::error::AppResult;
use crate::extract::PeerAddr;
use crate::schedule::invitations::{self, Window};
use crate::state::AppState;
use crate::store::InvitationStatus;

pub fn router() -> Router<AppState> {
    Router::new().route("/join/{token}", get(join))
}

async fn join(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PeerAddr(addr): PeerAddr,
    Path(token): Path<String>,
) -> Response {
    match page(&state, Nav::anonymous(&csrf), &token, addr).await {
        Ok(response) => response,
        Err(err) => super::error_page(err.status, &err.message),
    }
}

async fn page(
    state: &AppState,
    nav: Nav,
    token: &str,
    addr: std::net::IpAddr,
) -> AppResult<Response> {
    let unknown = || {
        MessagePage::new(
            nav.clone(),
            "This link does not work",
            &["Please check that you opened the whole link from your email."],
        )
        .respond(StatusCode::NOT_FOUND)
    };
    let Some(participant) = state
        .store
        .participant_by_token_hash(&hash_token(token))
        .await?
    else {
        return Ok(unknown());
    };
    let Some(session) = state.store.session_by_id(&participant.session_id).await? else {
        return Ok(unknown());
    };
    let therapist = state
        .store
        .account_by_id(&session.owner_id)
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let when = invitations::when(session.starts_at, &session.time_zone);
    let gone = |text: &str| {
        MessagePage::new(nav.clone(), "This link no longer works", &[text])
            .respond(StatusCode::GONE)
    };
    if session.ended_at.is_some() || state.rooms.is_ended(&session.id) {
        return Ok(gone("This session has ended."));
    }
    if participant.status == InvitationStatus::Revoked || session.is_cancelled() {
        return Ok(gone("This session was cancelled, or your invitation was withdrawn. Please contact your therapist."));
    }
    let now = state.clock.unix();
    let intro = format!(
        "Your session with {therapist} is on {when}, for {} minutes.",
        session.duration_minutes
    );
    let page = match state.rooms.window(&session, now) {
        Window::Ended => return Ok(gone("This session has ended.")),
        Window::TooEarly => MessagePage::new(
            nav,
            "Your video session",
            &[
                &intro,
                "Your link opens 30 minutes before the start. Please come back then.",
            ],
        ),
        Window::Open => {
            state
                .store
                .mark_participant(&participant.id, InvitationStatus::Opened, now)
                .await?;
            let event = AuditEvent::new(Actor::client(&participant.id), Action::InvitationOpened)
                .target(TargetKind::VideoSession, &session.id)
                .from_addr(addr);
            audit::record_now(state, event).await?;
            let name = suggested_name(state, &session, &participant).await;
            let group = session.is_group();
            let ws_path = format!("/join/{token}/ws");
            let ws_node = super::room::node_socket(state, &session.id, &ws_path).await?;
            return Ok(RoomPage {
                nav,
                title: if group {
                    "Your group session".into()
                } else {
                    "Your video session".into()
                },
                intro: vec![
                    intro,
                    "You are expected. Check your camera and microphone, then join: you wait in a waiting room until your therapist lets you in.".into(),
                ],
                ws_path,
                ws_node,
                role: "client",
                kind: session.kind.as_str().into(),
                suggested_name: name,
            }
            .respond());
        }
    };
    Ok(page.respond(StatusCode::OK))
}

/// The client's first name, offered as the name other group members see.
async fn suggested_name(
    state: &AppState,
    session: &crate::store::SessionRow,
    participant: &crate::store::ParticipantRow,
) -> String {
    let Ok(Some(key)) = state.keys.existing_key(&session.owner_id).await else {
        return String::new();
    };
    let Ok(Some(row)) = state
        .store
        .client_of(&session.owner_id, &participant.client_id)
        .await
    else {
        return String::new();
    };
    crate::clients::open(&key, &row)
        .map(|c| c.name.split_whitespace().next().unwrap_or("").to_owned())
        .unwrap_or_default()
}
