//! The signaling sockets. `/sessions/{id}/ws` is the therapist's (session
//! cookie, owner only); `/join/{token}/ws` is a client's (invitation token,
//! only within the session's window, not revoked, not removed, not ended).
//! Access is checked before the upgrade, so a refused socket never opens.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::protocol::{self, ServerMsg, MAX_FRAME};
use super::rate::{SocketRates, Verdict};
use super::{Cmd, Identity, Out, Role};
use crate::auth::session::PageTherapist;
use crate::auth::tokens::hash_token;
use crate::error::{AppError, AppResult};
use crate::extract::PeerAddr;
use crate::ids::SessionId;
use crate::nodes::placement;
use crate::schedule::invitations::Window;
use crate::state::AppState;
use crate::store::InvitationStatus;
use crate::store::SessionRow;

/// Frames above this size end the connection (protects memory); frames
/// between `MAX_FRAME` and this get an error and the socket lives on.
const HARD_LIMIT: usize = 1024 * 1024;
const PING_EVERY: Duration = Duration::from_secs(15);
/// A socket from which nothing (not even a pong) arrived for this long is closed.
const SILENT_LIMIT: Duration = Duration::from_secs(45);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/ws", get(therapist_socket))
        .route("/join/{token}/ws", get(client_socket))
}

#[tracing::instrument(skip_all, fields(session = %id))]
async fn therapist_socket(
    State(state): State<AppState>,
    PageTherapist(signed): PageTherapist,
    PeerAddr(addr): PeerAddr,
    Path(id): Path<SessionId>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> AppResult<Response> {
    same_origin(&state, &headers)?;
    let session = state
        .store
        .session_of(&signed.account.id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    open_window(&state, &session)?;
    let who = Identity {
        member: "therapist".into(),
        role: Role::Therapist,
        client: None,
        name: signed.account.name.clone(),
        addr,
    };
    let path = format!("/sessions/{id}/ws");
    accept(state, session, who, &path, upgrade).await
}

#[tracing::instrument(skip_all)]
async fn client_socket(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    Path(token): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> AppResult<Response> {
    same_origin(&state, &headers)?;
    let participant = state
        .store
        .participant_by_token_hash(&hash_token(&token))
        .await?
        .ok_or_else(AppError::not_found)?;
    let session = state
        .store
        .session_by_id(&participant.session_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if participant.status == InvitationStatus::Revoked || session.is_cancelled() {
        return Err(gone());
    }
    // A suspended therapist's clients would only wait for someone who
    // cannot come.
    let owner = state.store.account_by_id(&session.owner_id).await?;
    if owner.is_none_or(|a| a.is_suspended()) {
        return Err(gone());
    }
    open_window(&state, &session)?;
    let key = state
        .keys
        .existing_key(&session.owner_id)
        .await?
        .ok_or_else(crate::clients::unreadable)?;
    let client = state
        .store
        .client_of(&session.owner_id, &participant.client_id)
        .await?
        .ok_or_else(gone)?;
    let name = crate::clients::open(&key, &client)?.name;
    let who = Identity {
        member: participant.id.to_string(),
        role: Role::Client,
        client: Some(participant.client_id.clone()),
        name,
        addr,
    };
    let path = format!("/join/{token}/ws");
    accept(state, session, who, &path, upgrade).await
}

/// Browsers always send `Origin` on a WebSocket; a foreign one is another
/// site trying to ride on the visitor's cookie.
fn same_origin(state: &AppState, headers: &HeaderMap) -> AppResult<()> {
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            let expected = state.settings.public_url.origin().ascii_serialization();
            if origin.as_bytes() == expected.as_bytes() {
                Ok(())
            } else {
                Err(AppError::forbidden(
                    "cross_origin",
                    "This page cannot open the room.",
                ))
            }
        }
        None => Ok(()),
    }
}

fn open_window(state: &AppState, session: &SessionRow) -> AppResult<()> {
    if session.ended_at.is_some() || state.rooms.is_ended(&session.id) {
        return Err(gone());
    }
    match state.rooms.window(session, state.clock.unix()) {
        Window::Open => Ok(()),
        Window::TooEarly => Err(AppError::new(
            StatusCode::CONFLICT,
            "too_early",
            "The room opens 30 minutes before the start.",
        )),
        Window::Ended => Err(gone()),
    }
}

fn gone() -> AppError {
    AppError::new(
        StatusCode::GONE,
        "gone",
        "This link no longer opens the session.",
    )
}

async fn accept(
    state: AppState,
    session: SessionRow,
    who: Identity,
    path: &str,
    upgrade: WebSocketUpgrade,
) -> AppResult<Response> {
    if let Some(url) = placed_elsewhere(&state, &session, path).await? {
        return Ok(upgrade.on_upgrade(move |mut socket| async move {
            let _ = socket.send(frame(&ServerMsg::Moved { url })).await;
            let _ = socket.send(Message::Close(None)).await;
        }));
    }
    // Held for the socket's life; an upgrade that never completes drops it.
    let slot = state
        .rooms
        .claim_socket(&session.id, &who.member)
        .ok_or_else(|| {
            AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_sockets",
                "This session is open in too many tabs. Close one and try again.",
            )
        })?;
    Ok(upgrade
        .max_message_size(HARD_LIMIT)
        .max_frame_size(HARD_LIMIT)
        .on_upgrade(move |socket| async move {
            pump(state, session, who, socket).await;
            drop(slot);
        }))
}

/// Where the room lives when not here: on the node that holds its lease, or
/// where placement puts it. Otherwise this node takes the lease, unless it
/// drains (then it starts no room and says so).
async fn placed_elsewhere(
    state: &AppState,
    session: &SessionRow,
    path: &str,
) -> AppResult<Option<String>> {
    if state.rooms.is_live(&session.id) {
        return Ok(None);
    }
    if let Some(url) = placement::elsewhere(state, &session.id, path).await? {
        return Ok(Some(url));
    }
    if state.node.is_draining() {
        let mut err = AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "This server is about to restart. Please reload the page in a minute.",
        );
        err.retry_after = Some(30);
        return Err(err);
    }
    let now = state.clock.unix();
    let holder = state
        .store
        .claim_room(&session.id, &state.node.id, now)
        .await?;
    // Another node took it first: go there.
    Ok(holder.and_then(|(_, url)| placement::socket_url(&url, path)))
}

/// Whether the socket goes on after a rate check (an error was sent if not `Pass`).
async fn rate_checked(socket: &mut WebSocket, verdict: Verdict) -> Flow {
    match verdict {
        Verdict::Pass => Flow::Pass,
        Verdict::Refuse(refusal) => match socket.send(frame(&ServerMsg::error(&refusal))).await {
            Ok(()) => Flow::Skip,
            Err(_) => Flow::Stop,
        },
        Verdict::Close(refusal) => {
            let _ = socket.send(frame(&ServerMsg::error(&refusal))).await;
            Flow::Stop
        }
    }
}

enum Flow {
    Pass,
    Skip,
    Stop,
}

async fn pump(state: AppState, session: SessionRow, who: Identity, mut socket: WebSocket) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let conn = NEXT.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Out>(256);
    let room = state.rooms.room(&state, &session);
    let connect = Cmd::Connect { conn, who, tx };
    if room.cmds.send(connect).await.is_err() {
        let _ = socket.send(frame(&ended())).await;
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut heard = Instant::now();
    let mut rates = SocketRates::new(std::time::Instant::now());
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { break };
                heard = Instant::now();
                if matches!(message, Message::Text(_) | Message::Binary(_)) {
                    match rate_checked(&mut socket, rates.frame(std::time::Instant::now())).await {
                        Flow::Pass => {}
                        Flow::Skip => continue,
                        Flow::Stop => break,
                    }
                }
                let text = match message {
                    Message::Text(text) => text,
                    Message::Binary(_) => {
                        let refusal = protocol::Refusal::new("bad_json", "Send text frames.");
                        if socket.send(frame(&ServerMsg::error(&refusal))).await.is_err() { break }
                        continue;
                    }
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                if text.as_str().len() > MAX_FRAME {
                    if socket.send(frame(&ServerMsg::error(&protocol::too_large()))).await.is_err() { break }
                    continue;
                }
                match protocol::parse(text.as_str()) {
                    Ok(msg) => {
                        match rate_checked(&mut socket, rates.message(std::time::Instant::now(), &msg)).await {
                            Flow::Pass => {}
                            Flow::Skip => continue,
                            Flow::Stop => break,
                        }
                        if room.cmds.send(Cmd::Message { conn, msg }).await.is_err() {
                            let _ = socket.send(frame(&ended())).await;
                            break;
                        }
                    }
                    Err(refusal) => {
                        if socket.send(frame(&ServerMsg::error(&refusal))).await.is_err() { break }
                    }
                }
            }
            out = rx.recv() => match out {
                Some(Out::Frame(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() { break }
                }
                Some(Out::Close) | None => break,
            },
            _ = ping.tick() => {
                if heard.elapsed() > SILENT_LIMIT { break }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break }
            }
        }
    }
    // Frames the room queued just before closing (e.g. "removed") still go out.
    while let Ok(Out::Frame(text)) = rx.try_recv() {
        if socket.send(Message::Text(text.into())).await.is_err() {
            break;
        }
    }
    let _ = socket.send(Message::Close(None)).await;
    let _ = room.cmds.send(Cmd::Disconnect { conn }).await;
}

fn ended() -> ServerMsg {
    ServerMsg::Ended {
        message: "This session has ended.",
        survey: None,
    }
}

fn frame(msg: &ServerMsg) -> Message {
    Message::Text(msg.to_frame().into())
}
