//! Changes made outside a room reach it on whichever node it is open: rooms
//! on this node hear at once (`Rooms`), rooms on other nodes through the
//! `room_notices` table, which every node reads each second. Ids only.

use std::time::Duration;

use crate::ids::{AccountId, ClientId, ParticipantId, SessionId};
use crate::state::AppState;
use crate::store::{RoomNoticeRow, SessionRow};

/// How often a node looks for notices from the others.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);
/// Notices older than this concern no room any more (a node that missed
/// them was dead, and its rooms are gone).
const KEEP_SECS: i64 = 600;

/// What changed outside the room.
pub enum Outside<'a> {
    /// The session row changed: cancelled, moved or shortened.
    Session(&'a SessionRow),
    /// An invitation no longer opens its session.
    Revoked {
        session_id: &'a SessionId,
        participant_id: &'a ParticipantId,
    },
    /// A therapist deleted a client: it leaves every room of theirs.
    ClientDeleted {
        owner_id: &'a AccountId,
        client_id: &'a ClientId,
    },
    /// The therapist was suspended or deleted: their rooms close.
    OwnerGone { owner_id: &'a AccountId },
}

/// Tells the room (here and on every other node). A notice that cannot be
/// written is logged: a room elsewhere then still refuses the next socket
/// (sockets are checked against the database) and ends at its end time.
pub async fn tell(state: &AppState, what: Outside<'_>) {
    let rooms = &state.rooms;
    let mut row = RoomNoticeRow {
        id: 0,
        node_id: state.node.id.clone(),
        kind: String::new(),
        session_id: None,
        owner_id: None,
        subject: None,
        created_at: state.clock.unix(),
    };
    match what {
        Outside::Session(session) => {
            rooms.session_changed(session);
            row.kind = "session".into();
            row.session_id = Some(session.id.clone());
        }
        Outside::Revoked {
            session_id,
            participant_id,
        } => {
            rooms.invitation_revoked(session_id, participant_id);
            row.kind = "revoked".into();
            row.session_id = Some(session_id.clone());
            row.subject = Some(participant_id.to_string());
        }
        Outside::ClientDeleted {
            owner_id,
            client_id,
        } => {
            rooms.client_deleted(owner_id, client_id);
            row.kind = "client_deleted".into();
            row.owner_id = Some(owner_id.clone());
            row.subject = Some(client_id.to_string());
        }
        Outside::OwnerGone { owner_id } => {
            rooms.owner_suspended(owner_id);
            row.kind = "owner_gone".into();
            row.owner_id = Some(owner_id.clone());
        }
    }
    if let Err(err) = state.store.add_room_notice(&row).await {
        tracing::warn!(error = %err, "could not tell other nodes' rooms of a change");
    }
}

/// Reads the other nodes' notices for as long as the server runs.
pub async fn follow_forever(state: AppState) {
    let mut last = match state.store.last_room_notice().await {
        Ok(last) => last,
        Err(err) => {
            tracing::warn!(error = %err, "could not read room notices; starting from none");
            0
        }
    };
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rounds: u64 = 0;
    loop {
        tick.tick().await;
        rounds += 1;
        match state.store.room_notices_after(last, &state.node.id).await {
            Ok(notices) => {
                for notice in notices {
                    last = last.max(notice.id);
                    apply(&state, &notice).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "could not read room notices"),
        }
        if rounds % 300 == 0 {
            let before = state.clock.unix() - KEEP_SECS;
            if let Err(err) = state.store.purge_room_notices(before).await {
                tracing::warn!(error = %err, "could not purge old room notices");
            }
        }
    }
}

/// Tells this node's rooms of another node's notice.
async fn apply(state: &AppState, n: &RoomNoticeRow) {
    let rooms = &state.rooms;
    let (session, owner, subject) = (
        n.session_id.as_ref(),
        n.owner_id.as_ref(),
        n.subject.as_deref(),
    );
    match (n.kind.as_str(), session, owner, subject) {
        ("session", Some(session), _, _) => {
            if !rooms.is_live(session) {
                return;
            }
            match state.store.session_by_id(session).await {
                Ok(Some(row)) => rooms.session_changed(&row),
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "could not read a changed session"),
            }
        }
        ("revoked", Some(session), _, Some(participant)) => {
            rooms.invitation_revoked(session, &ParticipantId::from(participant))
        }
        ("client_deleted", _, Some(owner), Some(client)) => {
            rooms.client_deleted(owner, &ClientId::from(client))
        }
        ("owner_gone", _, Some(owner), _) => rooms.owner_suspended(owner),
        _ => tracing::warn!(kind = %n.kind, "a room notice of an unknown kind"),
    }
}
