//! Live video rooms: one actor (a tokio task) per session owns the room's
//! state: who waits, who is admitted, the therapist's controls. Rooms share
//! nothing. Browsers talk to their room over a WebSocket (`ws.rs`, messages in
//! `protocol.rs`); media goes to the engine (`regroup_sfu`), whose events a
//! single dispatcher hands to the room they name.

mod actor;
pub mod protocol;
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
use crate::state::AppState;
use crate::store::SessionRow;

pub use actor::RECONNECT_GRACE;

/// Every live room, by session id. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    inner: Arc<Inner>,
}

struct Inner {
    tcp_only: bool,
    turn_urls: Vec<String>,
    turn_secret: Option<String>,
    live: Mutex<HashMap<String, RoomTx>>,
    /// Sessions the therapist ended; their links and sockets stay closed.
    /// Kept in memory: after a restart only the end of the window closes them.
    ended: Mutex<HashSet<String>>,
}

/// The two ways into a room actor: commands from sockets (bounded, so a
/// flooding socket waits) and engine events (never dropped).
#[derive(Clone)]
pub(crate) struct RoomTx {
    pub(crate) cmds: mpsc::Sender<Cmd>,
    events: mpsc::UnboundedSender<Event>,
    generation: u64,
}

/// Who is on the other end of a socket; proven before the upgrade.
#[derive(Clone, Debug)]
pub struct Identity {
    /// `therapist`, or the invitation (participant) id of a client.
    pub member: String,
    pub role: Role,
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
            }),
        }
    }

    /// Whether the therapist ended this session's room.
    pub fn is_ended(&self, session_id: &str) -> bool {
        lock(&self.inner.ended).contains(session_id)
    }

    /// How many rooms are live (for tests and the health of the server).
    pub fn live(&self) -> usize {
        lock(&self.inner.live).len()
    }

    /// Stops every room: their actors end when their channels close.
    pub fn shutdown(&self) {
        lock(&self.inner.live).clear();
    }

    fn mark_ended(&self, session_id: &str) {
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
        let tx = RoomTx {
            cmds,
            events,
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
            cmd_rx,
            event_rx,
        ));
        tx
    }

    /// Called by an actor as it stops, so the next socket starts a fresh one.
    fn forget(&self, session_id: &str, generation: u64) {
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
            | Event::ActiveSpeaker { room, .. } => room.as_str().to_owned(),
        };
        let tx = lock(&self.inner.live).get(&room).cloned();
        if let Some(tx) = tx {
            let _ = tx.events.send(event);
        }
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
