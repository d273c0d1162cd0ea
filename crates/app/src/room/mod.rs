//! Live video rooms: one actor (a tokio task) per session owns the room's
//! state: who waits, who is admitted, the therapist's controls. Rooms share
//! nothing. Browsers talk to their room over a WebSocket (`ws.rs`, messages in
//! `protocol.rs`); media goes to the engine (`regroup_sfu`), whose events a
//! single dispatcher hands to the room they name.

pub mod across;
mod actor;
pub mod bilateral;
pub mod protocol;
mod rate;
mod sdp;
pub mod turn;
pub mod ws;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use regroup_sfu::{Event, EventReceiver};
use tokio::sync::mpsc;

use crate::config::MediaConfig;
use crate::ids::{AccountId, ClientId, ParticipantId, SessionId};
use crate::schedule::invitations::{self, Window};
use crate::state::AppState;
use crate::store::SessionRow;

pub use actor::{OVERTIME, RECONNECT_GRACE};

/// Every live room, by session id. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    inner: Arc<Inner>,
}

struct Inner {
    tcp_only: bool,
    turn_urls: Vec<String>,
    turn_secret: Option<String>,
    live: Mutex<HashMap<SessionId, RoomTx>>,
    /// Sessions the therapist ended; their links and sockets stay closed.
    /// Kept in memory: after a restart only the end of the window closes them.
    ended: Mutex<HashSet<SessionId>>,
    /// Open sockets per (session, member): one invitation link cannot hold
    /// more than `MAX_SOCKETS_PER_MEMBER` at once.
    sockets: Mutex<HashMap<(SessionId, String), usize>>,
}

/// Sockets one participant (one invitation, or the therapist) may hold open
/// at once: a tab, a second tab or device that takes over, and a reconnect
/// that overlaps the old socket's last seconds. Each socket may run one
/// pre-call check at a time, so this also caps the engine rooms a link holds.
pub const MAX_SOCKETS_PER_MEMBER: usize = 4;

/// A place among a participant's open sockets, given back on drop.
pub(crate) struct SocketSlot {
    rooms: Rooms,
    key: (SessionId, String),
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut sockets = lock(&self.rooms.inner.sockets);
        if let Some(n) = sockets.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                sockets.remove(&self.key);
            }
        }
    }
}

/// The three ways into a room actor: commands from sockets (bounded, so a
/// flooding socket waits), engine events and notices of changes made
/// outside the room (both rare, never dropped).
#[derive(Clone)]
pub(crate) struct RoomTx {
    pub(crate) cmds: mpsc::Sender<Cmd>,
    events: mpsc::UnboundedSender<Event>,
    notices: mpsc::UnboundedSender<Notice>,
    /// The therapist who owns the session, to reach all their rooms at once.
    owner: AccountId,
    generation: u64,
}

/// A change made outside the room (API, pages, operators) that the open
/// room must act on at once rather than at the old end time.
pub(crate) enum Notice {
    /// The session row changed: cancelled, moved or shortened.
    Session(Box<SessionRow>),
    /// This invitation (participant id) no longer opens the session.
    Revoked(ParticipantId),
    /// The therapist deleted this client (client id).
    ClientDeleted(ClientId),
    /// The room must close for everyone, without ending the session for good
    /// (e.g. an operator suspended the therapist).
    Close(&'static str),
}

/// Who is on the other end of a socket; proven before the upgrade.
#[derive(Clone, Debug)]
pub struct Identity {
    /// `therapist`, or the invitation (participant) id of a client.
    pub member: String,
    pub role: Role,
    /// The client record behind a client's invitation; `None` for the therapist.
    pub client: Option<ClientId>,
    /// The name the therapist entered (clients) or the account name (therapist).
    pub name: String,
    pub addr: IpAddr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Therapist,
    Client,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Therapist => "therapist",
            Role::Client => "client",
        }
    }
}

/// One socket's identity within the process.
pub(crate) type ConnId = u64;

/// What a room sends a socket.
#[derive(Debug)]
pub(crate) enum Out {
    Frame(String),
    Close,
}

pub(crate) enum Cmd {
    Connect {
        conn: ConnId,
        who: Identity,
        tx: mpsc::Sender<Out>,
    },
    Message {
        conn: ConnId,
        msg: protocol::ClientMsg,
    },
    Disconnect {
        conn: ConnId,
    },
}

impl Rooms {
    pub fn new(media: &MediaConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                tcp_only: media.tcp_only,
                turn_urls: media.turn_urls.clone(),
                turn_secret: media.turn_secret.clone(),
                live: Mutex::new(HashMap::new()),
                ended: Mutex::new(HashSet::new()),
                sockets: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Whether the therapist ended this session's room.
    pub fn is_ended(&self, session_id: &SessionId) -> bool {
        lock(&self.inner.ended).contains(session_id)
    }

    /// Whether a link to `session` works at `now`. Past the scheduled end a
    /// room the therapist keeps open (actor/clock.rs) still takes its people
    /// back (a reload, a dropped connection) until its late bound.
    pub fn window(&self, session: &SessionRow, now: i64) -> Window {
        match invitations::window(session, now) {
            Window::Ended
                if now < session.ends_at() + OVERTIME
                    && self.is_live(&session.id)
                    && !self.is_ended(&session.id) =>
            {
                Window::Open
            }
            other => other,
        }
    }

    /// Whether `session_id` has a room open on this node.
    pub fn is_live(&self, session_id: &SessionId) -> bool {
        lock(&self.inner.live)
            .get(session_id)
            .is_some_and(|tx| !tx.cmds.is_closed())
    }

    /// How many rooms are live (for tests and the health of the server).
    pub fn live(&self) -> usize {
        lock(&self.inner.live).len()
    }

    /// Stops every room: their actors end when their channels close.
    pub fn shutdown(&self) {
        lock(&self.inner.live).clear();
    }

    /// A place for one more socket of `member` in `session_id`, unless they
    /// already hold as many as they may.
    pub(crate) fn claim_socket(&self, session_id: &SessionId, member: &str) -> Option<SocketSlot> {
        let key = (session_id.to_owned(), member.to_owned());
        let mut sockets = lock(&self.inner.sockets);
        let n = sockets.entry(key.clone()).or_insert(0);
        if *n >= MAX_SOCKETS_PER_MEMBER {
            return None;
        }
        *n += 1;
        Some(SocketSlot {
            rooms: self.clone(),
            key,
        })
    }

    /// The session changed outside the room (cancelled, moved, shortened).
    pub fn session_changed(&self, row: &SessionRow) {
        self.notify(&row.id, Notice::Session(Box::new(row.clone())));
    }

    /// An invitation was revoked (the client was taken off the session).
    pub fn invitation_revoked(&self, session_id: &SessionId, participant_id: &ParticipantId) {
        self.notify(session_id, Notice::Revoked(participant_id.to_owned()));
    }

    /// A therapist deleted a client: it leaves every room of theirs.
    pub fn client_deleted(&self, owner_id: &AccountId, client_id: &ClientId) {
        self.notify_owner(owner_id, || Notice::ClientDeleted(client_id.to_owned()));
    }

    /// The therapist's account was suspended: every room of theirs closes.
    pub fn owner_suspended(&self, owner_id: &AccountId) {
        self.notify_owner(owner_id, || {
            Notice::Close("This session is not available any more.")
        });
    }

    /// Only rooms live on this process hear it; a socket opened later is
    /// checked against the database anyway.
    fn notify(&self, session_id: &SessionId, notice: Notice) {
        let tx = lock(&self.inner.live).get(session_id).cloned();
        if let Some(tx) = tx {
            let _ = tx.notices.send(notice);
        }
    }

    fn notify_owner(&self, owner_id: &AccountId, notice: impl Fn() -> Notice) {
        let txs: Vec<RoomTx> = lock(&self.inner.live)
            .values()
            .filter(|tx| tx.owner == *owner_id)
            .cloned()
            .collect();
        for tx in txs {
            let _ = tx.notices.send(notice());
        }
    }

    fn mark_ended(&self, session_id: &SessionId) {
        lock(&self.inner.ended).insert(session_id.to_owned());
    }

    /// The room of `session`, started on first use.
    pub(crate) fn room(&self, state: &AppState, session: &SessionRow) -> RoomTx {
        let mut live = lock(&self.inner.live);
        if let Some(tx) = live.get(&session.id) {
            if !tx.cmds.is_closed() {
                return tx.clone();
            }
        }
        static GENERATION: AtomicU64 = AtomicU64::new(1);
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        let (cmds, cmd_rx) = mpsc::channel(256);
        let (events, event_rx) = mpsc::unbounded_channel();
        let (notices, notice_rx) = mpsc::unbounded_channel();
        let tx = RoomTx {
            cmds,
            events,
            notices,
            owner: session.owner_id.clone(),
            generation,
        };
        live.insert(session.id.clone(), tx.clone());
        tokio::spawn(actor::run(
            actor::Context {
                state: state.clone(),
                rooms: self.clone(),
                session: session.clone(),
                generation,
            },
            actor::Inputs {
                cmds: cmd_rx,
                events: event_rx,
                notices: notice_rx,
            },
        ));
        tx
    }

    /// Called by an actor as it stops, so the next socket starts a fresh one.
    fn forget(&self, session_id: &SessionId, generation: u64) {
        let mut live = lock(&self.inner.live);
        if live
            .get(session_id)
            .is_some_and(|tx| tx.generation == generation)
        {
            live.remove(session_id);
        }
    }

    fn route(&self, event: Event) {
        let room = match &event {
            Event::Offer { room, .. }
            | Event::Connected { room, .. }
            | Event::Disconnected { room, .. }
            | Event::TrackPublished { room, .. }
            | Event::TrackUnpublished { room, .. }
            | Event::ActiveSpeaker { room, .. }
            | Event::Downlink { room, .. } => SessionId::from(room.as_str()),
        };
        let tx = lock(&self.inner.live).get(&room).cloned();
        if let Some(tx) = tx {
            let _ = tx.events.send(event);
        }
    }
}

impl Rooms {
    /// Open rooms, and the people connected to them (each member once, however
    /// many tabs they hold), for the metrics.
    pub fn census(&self) -> (usize, usize) {
        let rooms = lock(&self.inner.live).len();
        let members = lock(&self.inner.sockets).len();
        (rooms, members)
    }
}

/// A poisoned lock only means another thread panicked mid-update of a map of
/// senders; the map itself is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads the engine's events for as long as the engine runs.
pub async fn dispatch_events(rooms: Rooms, mut events: EventReceiver) {
    while let Some(event) = events.recv().await {
        rooms.route(event);
    }
}
