//! One room's actor: the only owner of its state. It reads socket commands
//! and engine events in order, so there are no locks and no races between a
//! therapist's "Remove" and the removed client's next message.

mod bilateral;
mod clock;
mod controls;
mod headphones;
mod kept;
mod media;
mod outbox;
mod outside;
mod presence;
mod probe;
mod writes;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use regroup_sfu::Event;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::protocol::{ClientMsg, IceServer, Refusal, ServerMsg, MAX_NAME};
use super::{turn, Cmd, ConnId, Identity, Notice, Out, Role, Rooms};
use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::ids::ClientId;
use crate::state::AppState;
use crate::store::SessionRow;

pub use clock::OVERTIME;

pub use presence::RECONNECT_GRACE;

const TICK: Duration = Duration::from_secs(2);

const WAIT_TEXT: &str = "Your therapist will let you in shortly.";

/// What an actor reads, in `select!` order of arrival.
pub(crate) struct Inputs {
    pub cmds: mpsc::Receiver<Cmd>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub notices: mpsc::UnboundedReceiver<Notice>,
}

/// How a room ends, which decides what is recorded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The therapist pressed "End session": the session is over for good.
    Therapist,
    /// The scheduled time ran out: over for good.
    TimeOver,
    /// Closed from outside (cancelled, moved, account suspended); the session
    /// itself is not marked ended, so it may open again if reinstated.
    Closed,
}

pub(crate) struct Context {
    pub state: AppState,
    pub rooms: Rooms,
    pub session: SessionRow,
    pub generation: u64,
}

struct Conn {
    who: Identity,
    tx: mpsc::Sender<Out>,
    /// Set once `hello` was accepted; before that only `hello` and the
    /// pre-call check are read.
    joined: bool,
    /// The engine room of this socket's pre-call check, while it lasts.
    probe: Option<String>,
    /// Pre-call checks started on this socket (each costs an engine room).
    probes: u32,
}

struct Member {
    role: Role,
    /// The client record (clients only), to act on its deletion.
    client: Option<ClientId>,
    /// The name the therapist entered, or the therapist's account name.
    full_name: String,
    /// The name other clients see.
    display: String,
    admitted: bool,
    conn: Option<ConnId>,
    /// The engine participant of the current browser connection; a new one per
    /// fresh RTCPeerConnection, and the `MediaStream.id` others see.
    media: Option<String>,
    gone_since: Option<Instant>,
    seq: u64,
    audio: bool,
    video: bool,
    host_muted: bool,
    host_camera_off: bool,
    may_unmute: bool,
    may_share: bool,
    sharing: bool,
    hand: bool,
    /// Chose audio only: the engine writes them no video.
    audio_only: bool,
    /// Headphones named by this socket's browser (`self_state`): for the
    /// therapist's eyes, in memory only, reset with each new socket.
    headphones: bool,
}

struct Room {
    ctx: Context,
    conns: HashMap<ConnId, Conn>,
    members: HashMap<String, Member>,
    next_seq: u64,
    locked: bool,
    idle: presence::Idle,
    done: bool,
    /// The simulcast cap last applied to everyone (see `layer_cap`).
    layer_cap: Option<usize>,
    /// The therapist's account name, read once (see `therapist_name`).
    therapist_name: Option<String>,
    /// Clients an earlier node's room had let in, until they are back
    /// (see `kept.rs`).
    kept: HashSet<String>,
    /// Session clock: whether clients see it, and where it stands (clock.rs).
    clients_clock: bool,
    clock_stage: clock::Stage,
    /// Bilateral stimulation, while on (see `bilateral.rs`).
    bilateral: Option<bilateral::Bilateral>,
    /// Records nobody in the room waits for (see `writes.rs`).
    writes: writes::Writes,
}

pub(crate) async fn run(ctx: Context, inputs: Inputs) {
    let Inputs {
        mut cmds,
        mut events,
        mut notices,
    } = inputs;
    let mut room = Room {
        ctx,
        conns: HashMap::new(),
        members: HashMap::new(),
        next_seq: 0,
        locked: false,
        idle: presence::Idle::starting(Instant::now()),
        done: false,
        layer_cap: None,
        therapist_name: None,
        kept: HashSet::new(),
        clients_clock: false,
        clock_stage: clock::Stage::default(),
        bilateral: None,
        writes: writes::Writes::start(),
    };
    room.restore_kept().await;
    let mut tick = tokio::time::interval(TICK);
    while !room.done {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(cmd) => room.command(cmd).await,
                None => break,
            },
            Some(event) = events.recv() => room.engine(event).await,
            Some(notice) = notices.recv() => room.notice(notice).await,
            _ = tick.tick() => room.tick().await,
        }
    }
    room.ctx
        .rooms
        .forget(&room.ctx.session.id, room.ctx.generation);
    // Kept admissions still queued must not land after the state is dropped.
    room.writes.flush().await;
    // The lease and the kept state go with the room, unless a new room for
    // the session has started here meanwhile (it holds the same lease), or
    // another node took the room over (then both are its own).
    if !room.ctx.rooms.is_live(&room.ctx.session.id) {
        let node = &room.ctx.state.node.id;
        let store = &room.ctx.state.store;
        match store.release_room(&room.ctx.session.id, node).await {
            Ok(true) => room.forget_kept().await,
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "could not release a room lease"),
        }
    }
    // Sockets that raced in get a clear answer rather than silence.
    cmds.close();
    while let Ok(cmd) = cmds.try_recv() {
        if let Cmd::Connect { tx, .. } = cmd {
            let _ = tx.try_send(Out::Close);
        }
    }
}

impl Room {
    fn session_id(&self) -> &str {
        &self.ctx.session.id
    }

    async fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Connect { conn, who, tx } => {
                self.idle.busy();
                self.conns.insert(
                    conn,
                    Conn {
                        who,
                        tx,
                        joined: false,
                        probe: None,
                        probes: 0,
                    },
                );
            }
            Cmd::Message { conn, msg } => {
                if let Err(refusal) = self.message(conn, msg).await {
                    self.send_conn(conn, &ServerMsg::error(&refusal));
                }
            }
            Cmd::Disconnect { conn } => self.disconnected(conn).await,
        }
    }

    async fn message(&mut self, conn: ConnId, msg: ClientMsg) -> Result<(), Refusal> {
        let Some(c) = self.conns.get(&conn) else {
            return Ok(());
        };
        let who = c.who.clone();
        let joined = c.joined;
        let msg = match msg {
            ClientMsg::Probe => return self.probe_ready(conn),
            ClientMsg::ProbeOffer { sdp } => return self.probe_offer(conn, sdp).await,
            ClientMsg::ProbeEnd => {
                self.end_probe(conn);
                return Ok(());
            }
            other => other,
        };
        if !joined {
            return match msg {
                ClientMsg::Hello {
                    display_name,
                    ack_confidential,
                } => self.hello(conn, &who, display_name, ack_confidential).await,
                ClientMsg::Ping => {
                    self.send_conn(conn, &ServerMsg::Pong);
                    Ok(())
                }
                _ => Err(Refusal::new("hello_first", "Send hello first.")),
            };
        }
        let id = who.member.clone();
        match msg {
            ClientMsg::Hello { .. } => Err(Refusal::new("already_joined", "You are already here.")),
            ClientMsg::Ping => {
                self.send_conn(conn, &ServerMsg::Pong);
                Ok(())
            }
            ClientMsg::Leave => {
                self.remove_member(&id).await;
                Ok(())
            }
            ClientMsg::MediaOffer { sdp, fresh } => self.media_offer(&id, sdp, fresh).await,
            ClientMsg::MediaAnswer { sdp } => self.media_answer(&id, sdp).await,
            ClientMsg::Chat { text } => self.chat(&id, &text),
            ClientMsg::SelfState {
                audio,
                video,
                hand,
                headphones,
            } => {
                // First, so that the roster `self_state` sends carries it.
                self.headphones(&id, headphones);
                self.self_state(&id, audio, video, hand).await
            }
            ClientMsg::AudioOnly { on } => self.audio_only(&id, on).await,
            ClientMsg::Screen { on } => {
                let m = self.admitted_mut(&id)?;
                if on && m.role == Role::Client && !m.may_share {
                    return Err(not_allowed());
                }
                m.sharing = on;
                self.roster();
                Ok(())
            }
            control => {
                if who.role != Role::Therapist {
                    return Err(not_allowed());
                }
                self.control(control).await
            }
        }
    }

    async fn hello(
        &mut self,
        conn: ConnId,
        who: &Identity,
        display_name: Option<String>,
        ack: bool,
    ) -> Result<(), Refusal> {
        let group = self.ctx.session.is_group();
        if who.role == Role::Client && group && !ack {
            return Err(Refusal::new(
                "confidentiality_required",
                "Please confirm that you will keep what others share confidential.",
            ));
        }
        let display = match who.role {
            Role::Therapist => who.name.clone(),
            Role::Client => {
                let therapist = self.therapist_name().await;
                parse_display(display_name.as_deref(), &who.name, &therapist)?
            }
        };
        let kept = self.kept.remove(&who.member);
        let existing = kept || self.members.contains_key(&who.member);
        if !existing && who.role == Role::Client && self.locked {
            self.send_conn(
                conn,
                &ServerMsg::Locked {
                    message: "The session is locked. Please contact your therapist.",
                },
            );
            self.close_conn(conn);
            return Ok(());
        }
        if who.role == Role::Client && group {
            self.audit(
                Actor::client(&who.member),
                Action::ConfidentialityAcknowledged,
            )
            .await;
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.joined = true;
        }
        // A second tab or a reconnect takes over from the old socket.
        let old = self.members.get(&who.member).and_then(|m| m.conn);
        if let Some(old) = old.filter(|o| *o != conn) {
            self.send_conn(old, &ServerMsg::Replaced);
            self.close_conn(old);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let member = self.members.entry(who.member.clone()).or_insert(Member {
            role: who.role,
            client: who.client.clone(),
            full_name: who.name.clone(),
            display: display.clone(),
            admitted: who.role == Role::Therapist || kept,
            conn: None,
            media: None,
            gone_since: None,
            seq,
            audio: true,
            video: true,
            host_muted: false,
            host_camera_off: false,
            may_unmute: true,
            may_share: who.role == Role::Therapist,
            sharing: false,
            hand: false,
            audio_only: false,
            headphones: false,
        });
        member.conn = Some(conn);
        // A new page starts with pictures; it sends `audio_only` again if
        // the person had chosen it. Another tab or device may have other
        // headphones, or none.
        member.audio_only = false;
        member.headphones = false;
        member.gone_since = None;
        member.display = display;
        let admitted = member.admitted;
        let welcome = ServerMsg::Welcome {
            you: who.member.clone(),
            role: who.role.as_str(),
            kind: if group { "group" } else { "individual" },
            state: if admitted { "admitted" } else { "waiting" },
            ice_servers: self.ice_servers(&who.member),
            media_while_waiting: true,
        };
        self.send_conn(conn, &welcome);
        if admitted {
            if !existing {
                self.audit(
                    actor_of(&who.member, who.role, &self.ctx.session.owner_id),
                    Action::RoomJoined,
                )
                .await;
            }
            self.send_controls(&who.member);
            self.send_clock(&who.member);
            self.bilateral_resend(&who.member);
            self.roster();
            if who.role == Role::Therapist {
                self.waiting_list();
            }
        } else {
            self.send_conn(conn, &ServerMsg::Waiting { message: WAIT_TEXT });
            self.waiting_list();
        }
        Ok(())
    }

    async fn disconnected(&mut self, conn: ConnId) {
        self.end_probe(conn);
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let id = c.who.member;
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        if m.conn != Some(conn) {
            return;
        }
        m.conn = None;
        if m.admitted {
            m.gone_since = Some(Instant::now());
            self.roster();
        } else {
            // Someone who stops waiting simply leaves the queue, and the
            // engine, if their media connection was held there.
            let media = m.media.take();
            self.members.remove(&id);
            self.leave_media(media).await;
            self.waiting_list();
        }
    }

    async fn tick(&mut self) {
        // The scheduled end closes the room only as clock.rs decides.
        if self.clock_tick().await {
            return;
        }
        let now = Instant::now();
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.gone_since.is_some_and(|t| presence::grace_over(t, now)))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.remove_member(&id).await;
        }
        let empty = self.conns.is_empty() && self.members.is_empty();
        if self.idle.stop_now(empty, now) {
            let _ = self.ctx.state.sfu.close_room(self.session_id()).await;
            self.done = true;
        }
    }

    /// The therapist's account name, which no client may take.
    async fn therapist_name(&mut self) -> String {
        if let Some(name) = &self.therapist_name {
            return name.clone();
        }
        let owner = &self.ctx.session.owner_id;
        match self.ctx.state.store.account_by_id(owner).await {
            Ok(Some(account)) => {
                self.therapist_name = Some(account.name.clone());
                account.name
            }
            Ok(None) => String::new(),
            Err(err) => {
                tracing::warn!(error = %err, "could not read the therapist's name");
                String::new()
            }
        }
    }

    /// TURN servers with credentials for `member`, valid for a few hours.
    fn ice_servers(&self, member: &str) -> Vec<IceServer> {
        let rooms = &self.ctx.rooms.inner;
        turn::ice_servers(
            &rooms.turn_urls,
            rooms.turn_secret.as_deref(),
            member,
            self.ctx.state.clock.unix(),
        )
    }

    fn admitted_mut(&mut self, id: &str) -> Result<&mut Member, Refusal> {
        self.members
            .get_mut(id)
            .filter(|m| m.admitted)
            .ok_or_else(not_admitted)
    }

    /// A member admitted or waiting: media may be set up while they wait.
    fn member_mut(&mut self, id: &str) -> Result<&mut Member, Refusal> {
        self.members.get_mut(id).ok_or_else(not_admitted)
    }

    fn client_mut(&mut self, id: &str) -> Result<&mut Member, Refusal> {
        self.members
            .get_mut(id)
            .filter(|m| m.role == Role::Client)
            .ok_or_else(unknown_person)
    }

    async fn audit(&self, actor: Actor<'_>, action: Action) {
        self.audit_target(
            actor,
            action,
            TargetKind::VideoSession,
            &self.ctx.session.id,
        )
        .await;
    }

    /// A client's entry, queued behind the room's other records (writes.rs).
    fn audit_later(&self, client: &str, action: Action) {
        let (state, client) = (self.ctx.state.clone(), client.to_owned());
        let session = self.ctx.session.id.clone();
        self.writes.later(async move {
            let event = AuditEvent::new(Actor::client(&client), action);
            record(&state, event.target(TargetKind::VideoSession, &session)).await;
        });
    }

    async fn audit_target(&self, actor: Actor<'_>, action: Action, kind: TargetKind, id: &str) {
        record(
            &self.ctx.state,
            AuditEvent::new(actor, action).target(kind, id),
        )
        .await;
    }
}

/// A room event into the audit log; a failed write is logged and the room
/// goes on.
async fn record(state: &AppState, event: AuditEvent<'_>) {
    if let Err(err) = audit::record_now(state, event).await {
        tracing::error!(error = %err, "could not audit a room event");
    }
}

fn actor_of<'a>(member: &'a str, role: Role, owner: &'a str) -> Actor<'a> {
    match role {
        Role::Therapist => Actor::therapist(owner),
        Role::Client => Actor::client(member),
    }
}

/// The name other clients see. A client may not take the therapist's name
/// (compared without case, spaces or punctuation), so nobody can pose as
/// them; a first name that happens to match falls back to the full name.
fn parse_display(given: Option<&str>, full: &str, therapist: &str) -> Result<String, Refusal> {
    let chosen = given.map(str::trim).filter(|s| !s.is_empty());
    let reserved = folded(therapist);
    let taken = |name: &str| !reserved.is_empty() && folded(name) == reserved;
    let name = match chosen {
        Some(name) if taken(name) => {
            return Err(Refusal::new(
                "bad_name",
                "Please choose a name other than your therapist's.",
            ))
        }
        Some(name) => name.to_owned(),
        // Other clients see only the first name unless the client says otherwise.
        None => {
            let first = full.split_whitespace().next().unwrap_or("Guest");
            [first, full, "Guest"]
                .into_iter()
                .find(|n| !taken(n))
                .unwrap_or("Client")
                .to_owned()
        }
    };
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Refusal::new(
            "bad_name",
            format!("A name has at most {MAX_NAME} characters."),
        ));
    }
    Ok(name)
}

/// A name reduced to its lower-case letters and digits.
fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn not_allowed() -> Refusal {
    Refusal::new("not_allowed", "Only the therapist can do this.")
}

fn not_admitted() -> Refusal {
    Refusal::new("not_admitted", "Please wait until you are let in.")
}

fn unknown_person() -> Refusal {
    Refusal::new("unknown_person", "This person is not in the room.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_clients_see_a_first_name_unless_one_is_chosen() {
        let t = "Ana Ruiz";
        assert_eq!(parse_display(None, "Ben Okafor", t).unwrap(), "Ben");
        assert_eq!(parse_display(Some("  "), "Ben Okafor", t).unwrap(), "Ben");
        assert_eq!(parse_display(Some("B."), "Ben Okafor", t).unwrap(), "B.");
        assert!(parse_display(Some(&"x".repeat(61)), "Ben", t).is_err());
        assert!(parse_display(Some("a\u{7}"), "Ben", t).is_err());
    }

    #[test]
    fn a_client_cannot_take_the_therapists_name() {
        let t = "Ana Ruiz";
        for pose in [
            "Ana Ruiz",
            "ana ruiz",
            "  ANA   RUIZ ",
            "Ana\tRuiz",
            "Ana-Ruiz.",
        ] {
            let refused = parse_display(Some(pose), "Ben Okafor", t).unwrap_err();
            assert_eq!(refused.code, "bad_name", "{pose:?}");
        }
        assert_eq!(parse_display(Some("Ana"), "Ben Okafor", t).unwrap(), "Ana");
        // A default that collides falls back to the full name.
        assert_eq!(
            parse_display(None, "Ana Okafor", "Ana").unwrap(),
            "Ana Okafor"
        );
        assert_eq!(parse_display(None, "Ana", "ana").unwrap(), "Guest");
    }
}
