//! One room's actor: the only owner of its state. It reads socket commands
//! and engine events in order, so there are no locks and no races between a
//! therapist's "Remove" and the removed client's next message.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use regroup_sfu::{DisconnectReason, Event, SfuError, TrackKind};
use tokio::sync::mpsc;

use super::protocol::{ClientMsg, PersonView, Refusal, ServerMsg, WaitingView, MAX_CHAT, MAX_NAME};
use super::{sdp, turn, Cmd, ConnId, Identity, Out, Role, Rooms};
use crate::audit::{self, Action, Actor, AuditEvent, TargetKind};
use crate::state::AppState;
use crate::store::SessionRow;

/// A participant whose socket dropped keeps their place this long: a fresh
/// socket within it returns to the room without waiting for admission.
pub const RECONNECT_GRACE: Duration = Duration::from_secs(60);
/// A room with nobody in it stops after this long.
const IDLE_STOP: Duration = Duration::from_secs(120);
const TICK: Duration = Duration::from_secs(2);

const WAIT_TEXT: &str = "Your therapist will let you in shortly.";

pub(crate) struct Context {
    pub state: AppState,
    pub rooms: Rooms,
    pub session: SessionRow,
    pub generation: u64,
}

struct Conn {
    who: Identity,
    tx: mpsc::Sender<Out>,
    /// Set once `hello` was accepted; before that only `hello` is read.
    joined: bool,
}

struct Member {
    role: Role,
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
}

struct Room {
    ctx: Context,
    conns: HashMap<ConnId, Conn>,
    members: HashMap<String, Member>,
    next_seq: u64,
    locked: bool,
    empty_since: Option<Instant>,
    done: bool,
    /// The simulcast cap last applied to everyone (see `layer_cap`).
    layer_cap: Option<usize>,
}

pub(crate) async fn run(
    ctx: Context,
    mut cmds: mpsc::Receiver<Cmd>,
    mut events: mpsc::UnboundedReceiver<Event>,
) {
    let mut room = Room {
        ctx,
        conns: HashMap::new(),
        members: HashMap::new(),
        next_seq: 0,
        locked: false,
        empty_since: Some(Instant::now()),
        done: false,
        layer_cap: None,
    };
    let mut tick = tokio::time::interval(TICK);
    while !room.done {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(cmd) => room.command(cmd).await,
                None => break,
            },
            Some(event) = events.recv() => room.engine(event).await,
            _ = tick.tick() => room.tick().await,
        }
    }
    room.ctx
        .rooms
        .forget(&room.ctx.session.id, room.ctx.generation);
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
                self.empty_since = None;
                self.conns.insert(
                    conn,
                    Conn {
                        who,
                        tx,
                        joined: false,
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
        if !c.joined {
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
            ClientMsg::SelfState { audio, video } => self.self_state(&id, audio, video).await,
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
        let group = self.ctx.session.kind == "group";
        if who.role == Role::Client && group && !ack {
            return Err(Refusal::new(
                "confidentiality_required",
                "Please confirm that you will keep what others share confidential.",
            ));
        }
        let display = match who.role {
            Role::Therapist => who.name.clone(),
            Role::Client => parse_display(display_name.as_deref(), &who.name)?,
        };
        let existing = self.members.contains_key(&who.member);
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
            full_name: who.name.clone(),
            display: display.clone(),
            admitted: who.role == Role::Therapist,
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
        });
        member.conn = Some(conn);
        member.gone_since = None;
        member.display = display;
        let admitted = member.admitted;
        let now = self.ctx.state.clock.unix();
        let rooms = &self.ctx.rooms.inner;
        let welcome = ServerMsg::Welcome {
            you: who.member.clone(),
            role: who.role.as_str(),
            kind: if group { "group" } else { "individual" },
            state: if admitted { "admitted" } else { "waiting" },
            ice_servers: turn::ice_servers(
                &rooms.turn_urls,
                rooms.turn_secret.as_deref(),
                &who.member,
                now,
            ),
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

    async fn control(&mut self, msg: ClientMsg) -> Result<(), Refusal> {
        match msg {
            ClientMsg::Admit { id } => self.admit(&id).await,
            ClientMsg::AdmitAll => {
                let mut waiting: Vec<(u64, String)> = self
                    .members
                    .iter()
                    .filter(|(_, m)| !m.admitted && m.conn.is_some())
                    .map(|(id, m)| (m.seq, id.clone()))
                    .collect();
                waiting.sort();
                for (_, id) in waiting {
                    self.admit(&id).await?;
                }
                Ok(())
            }
            ClientMsg::Deny { id } => {
                let m = self.members.get(&id).ok_or_else(unknown_person)?;
                if m.admitted {
                    return Err(unknown_person());
                }
                if let Some(conn) = m.conn {
                    self.send_conn(
                        conn,
                        &ServerMsg::Denied {
                            message: "Your therapist could not let you in this time.",
                        },
                    );
                    self.close_conn(conn);
                }
                self.members.remove(&id);
                self.waiting_list();
                Ok(())
            }
            ClientMsg::ToWaiting { id } => {
                let m = self.client_mut(&id)?;
                if !m.admitted {
                    return Ok(());
                }
                m.admitted = false;
                m.sharing = false;
                let media = m.media.take();
                let conn = m.conn;
                self.leave_media(media).await;
                self.apply_layers(None).await;
                if let Some(conn) = conn {
                    self.send_conn(conn, &ServerMsg::MovedToWaiting { message: WAIT_TEXT });
                }
                self.roster();
                self.waiting_list();
                Ok(())
            }
            ClientMsg::Lock { locked } => {
                self.locked = locked;
                self.roster();
                Ok(())
            }
            ClientMsg::Mute { id } => {
                let m = self.client_mut(&id)?;
                m.host_muted = true;
                m.may_unmute = false;
                m.audio = false;
                let media = m.media.clone();
                self.forward(media, TrackKind::Audio, false).await;
                self.send_controls(&id);
                self.roster();
                Ok(())
            }
            ClientMsg::CameraOff { id } => {
                let m = self.client_mut(&id)?;
                m.host_camera_off = true;
                m.may_unmute = false;
                m.video = false;
                let media = m.media.clone();
                self.forward(media, TrackKind::Video, false).await;
                self.send_controls(&id);
                self.roster();
                Ok(())
            }
            ClientMsg::AllowUnmute { id } => {
                self.client_mut(&id)?.may_unmute = true;
                self.send_controls(&id);
                Ok(())
            }
            ClientMsg::AllowScreen { id, allowed } => {
                let m = self.client_mut(&id)?;
                m.may_share = allowed;
                if !allowed {
                    m.sharing = false;
                }
                self.send_controls(&id);
                self.roster();
                Ok(())
            }
            ClientMsg::Remove { id } => self.remove_client(&id).await,
            ClientMsg::End => {
                self.end("Your therapist ended the session.", true).await;
                Ok(())
            }
            _ => Err(Refusal::new(
                "bad_message",
                "This message is not a control.",
            )),
        }
    }

    async fn admit(&mut self, id: &str) -> Result<(), Refusal> {
        let m = self.members.get_mut(id).ok_or_else(unknown_person)?;
        if m.admitted || m.conn.is_none() {
            return Ok(());
        }
        m.admitted = true;
        let conn = m.conn;
        if let Some(conn) = conn {
            self.send_conn(conn, &ServerMsg::Admitted);
        }
        self.audit(Actor::client(id), Action::RoomJoined).await;
        self.send_controls(id);
        self.roster();
        self.waiting_list();
        Ok(())
    }

    /// Remove: the client leaves and their invitation is revoked, so their
    /// link no longer opens this session.
    async fn remove_client(&mut self, id: &str) -> Result<(), Refusal> {
        if self
            .members
            .get(id)
            .is_some_and(|m| m.role == Role::Therapist)
        {
            return Err(not_allowed());
        }
        let state = &self.ctx.state;
        let participant = state
            .store
            .participant_by_id(id)
            .await
            .ok()
            .flatten()
            .filter(|p| p.session_id == self.ctx.session.id)
            .ok_or_else(unknown_person)?;
        if let Err(err) =
            crate::schedule::invitations::revoke(state, &self.ctx.session, &participant, false)
                .await
        {
            tracing::error!(error = %err, "could not revoke a removed participant");
            return Err(Refusal::new(
                "internal",
                "That did not work. Please try again.",
            ));
        }
        self.audit_target(
            Actor::therapist(&self.ctx.session.owner_id),
            Action::ParticipantRemoved,
            TargetKind::Invitation,
            id,
        )
        .await;
        let removed = ServerMsg::Removed {
            message: "Your therapist removed you from this session.",
        };
        // Every socket of this person, joined or not.
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.who.member == id)
            .map(|(k, _)| *k)
            .collect();
        for conn in conns {
            self.send_conn(conn, &removed);
        }
        self.remove_member(id).await;
        Ok(())
    }

    /// Takes someone out of the room (left, removed, or gone too long).
    async fn remove_member(&mut self, id: &str) {
        let Some(m) = self.members.remove(id) else {
            return;
        };
        if m.admitted {
            self.audit(
                actor_of(id, m.role, &self.ctx.session.owner_id),
                Action::RoomLeft,
            )
            .await;
        }
        self.leave_media(m.media).await;
        self.apply_layers(None).await;
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.who.member == id)
            .map(|(k, _)| *k)
            .collect();
        for conn in conns {
            self.close_conn(conn);
        }
        self.roster();
        self.waiting_list();
    }

    /// Ends the room for everyone; `by_therapist` also closes the session's links.
    async fn end(&mut self, message: &'static str, by_therapist: bool) {
        let admitted: Vec<(String, Role)> = self
            .members
            .iter()
            .filter(|(_, m)| m.admitted)
            .map(|(id, m)| (id.clone(), m.role))
            .collect();
        for (id, role) in admitted {
            self.audit(
                actor_of(&id, role, &self.ctx.session.owner_id),
                Action::RoomLeft,
            )
            .await;
        }
        self.members.clear();
        if let Err(err) = self.ctx.state.sfu.close_room(self.session_id()).await {
            if err != SfuError::NoSuchRoom {
                tracing::warn!(error = %err, "could not close the media room");
            }
        }
        self.ctx.rooms.mark_ended(&self.ctx.session.id);
        // Stored too, so the room stays closed after a restart and on other nodes.
        let now = self.ctx.state.clock.unix();
        if let Err(err) = self
            .ctx
            .state
            .store
            .mark_session_ended(&self.ctx.session.id, now)
            .await
        {
            tracing::warn!(error = %err, "could not store that the session ended");
        }
        let actor = if by_therapist {
            Actor::therapist(&self.ctx.session.owner_id)
        } else {
            Actor::system()
        };
        self.audit(actor, Action::SessionEnded).await;
        // Told last, so that everything above is recorded when they hear it.
        let ended = ServerMsg::Ended { message };
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.send_conn(conn, &ended);
            self.close_conn(conn);
        }
        tracing::info!(session = %self.ctx.session.id, "room ended");
        self.done = true;
    }

    async fn media_offer(&mut self, id: &str, sdp: String, fresh: bool) -> Result<(), Refusal> {
        let m = self.admitted_mut(id)?;
        let old = m.media.clone();
        let room = self.ctx.session.id.clone();
        let sfu = self.ctx.state.sfu.clone();
        let answer = match (old, fresh) {
            (Some(media), false) => match sfu.offer(room.as_str(), media.as_str(), sdp).await {
                Err(SfuError::NoSuchParticipant) | Err(SfuError::NoSuchRoom) => {
                    if let Some(m) = self.members.get_mut(id) {
                        m.media = None;
                    }
                    self.send_member(id, &ServerMsg::MediaLost);
                    return Ok(());
                }
                other => other,
            },
            (old, _) => {
                self.leave_media(old).await;
                let media = new_media_id();
                let result = sfu.join(room.as_str(), media.as_str(), sdp).await;
                if result.is_ok() {
                    let (audio_off, video_off) = match self.members.get_mut(id) {
                        Some(m) => {
                            m.media = Some(media.clone());
                            (m.host_muted, m.host_camera_off)
                        }
                        None => (false, false),
                    };
                    if audio_off {
                        self.forward(Some(media.clone()), TrackKind::Audio, false)
                            .await;
                    }
                    if video_off {
                        self.forward(Some(media.clone()), TrackKind::Video, false)
                            .await;
                    }
                    self.apply_layers(Some(media.clone())).await;
                    self.roster();
                }
                result
            }
        };
        match answer {
            Ok(sdp) => {
                let sdp = self.outgoing_sdp(sdp);
                self.send_member(id, &ServerMsg::MediaAnswer { sdp });
                Ok(())
            }
            Err(err) => Err(media_refusal(err)),
        }
    }

    async fn media_answer(&mut self, id: &str, sdp: String) -> Result<(), Refusal> {
        let media = self
            .admitted_mut(id)?
            .media
            .clone()
            .ok_or_else(|| Refusal::new("no_media", "Send a media_offer first."))?;
        match self
            .ctx
            .state
            .sfu
            .answer(self.session_id(), media.as_str(), sdp)
            .await
        {
            // The engine dropped its offer (glare or timeout) and will offer again.
            Ok(()) | Err(SfuError::NoPendingOffer) => Ok(()),
            Err(err) => Err(media_refusal(err)),
        }
    }

    fn chat(&mut self, id: &str, text: &str) -> Result<(), Refusal> {
        self.admitted_mut(id)?;
        let text = text.trim();
        if text.is_empty()
            || text.chars().count() > MAX_CHAT
            || text.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(Refusal::new(
                "bad_chat",
                format!("A chat message has 1 to {MAX_CHAT} characters."),
            ));
        }
        // Relayed only: never stored, never logged.
        let recipients: Vec<(String, Role)> = self
            .members
            .iter()
            .filter(|(_, m)| m.admitted)
            .map(|(k, m)| (k.clone(), m.role))
            .collect();
        for (to, role) in recipients {
            let name = self.name_for(id, role);
            self.send_member(
                &to,
                &ServerMsg::Chat {
                    from: id.to_owned(),
                    name,
                    text: text.to_owned(),
                },
            );
        }
        Ok(())
    }

    async fn self_state(&mut self, id: &str, audio: bool, video: bool) -> Result<(), Refusal> {
        let refuse = {
            let m = self.admitted_mut(id)?;
            (audio && m.host_muted && !m.may_unmute)
                || (video && m.host_camera_off && !m.may_unmute)
        };
        if refuse {
            self.send_controls(id);
            return Err(Refusal::new(
                "not_allowed",
                "Your therapist turned this off; they can allow you to turn it on again.",
            ));
        }
        let m = self.admitted_mut(id)?;
        let mut resume = Vec::new();
        if audio && m.host_muted {
            m.host_muted = false;
            resume.push(TrackKind::Audio);
        }
        if video && m.host_camera_off {
            m.host_camera_off = false;
            resume.push(TrackKind::Video);
        }
        m.audio = audio;
        m.video = video;
        let media = m.media.clone();
        for kind in resume {
            self.forward(media.clone(), kind, true).await;
        }
        if !self
            .members
            .get(id)
            .is_some_and(|m| m.host_muted || m.host_camera_off)
        {
            self.send_controls(id);
        }
        self.roster();
        Ok(())
    }

    async fn engine(&mut self, event: Event) {
        match event {
            Event::Offer {
                participant, sdp, ..
            } => {
                if let Some(id) = self.member_of_media(participant.as_str()) {
                    let sdp = self.outgoing_sdp(sdp);
                    self.send_member(&id, &ServerMsg::MediaOffer { sdp });
                }
            }
            Event::Disconnected {
                participant,
                reason,
                ..
            } => {
                if let Some(id) = self.member_of_media(participant.as_str()) {
                    if let Some(m) = self.members.get_mut(&id) {
                        m.media = None;
                    }
                    if matches!(reason, DisconnectReason::Timeout | DisconnectReason::Failed) {
                        self.send_member(&id, &ServerMsg::MediaLost);
                    }
                    self.roster();
                }
            }
            Event::ActiveSpeaker { participant, .. } => {
                let id = participant.and_then(|p| self.member_of_media(p.as_str()));
                self.broadcast_admitted(&ServerMsg::Speaker { id });
            }
            Event::Connected { .. }
            | Event::TrackPublished { .. }
            | Event::TrackUnpublished { .. } => {}
        }
    }

    async fn disconnected(&mut self, conn: ConnId) {
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
            // Someone who stops waiting simply leaves the queue.
            self.members.remove(&id);
            self.waiting_list();
        }
    }

    async fn tick(&mut self) {
        if self.ctx.state.clock.unix() >= self.ctx.session.ends_at() {
            self.end("The time for this session is over.", false).await;
            return;
        }
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.gone_since.is_some_and(|t| t.elapsed() >= RECONNECT_GRACE))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.remove_member(&id).await;
        }
        if self.conns.is_empty() && self.members.is_empty() {
            let since = *self.empty_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= IDLE_STOP {
                let _ = self.ctx.state.sfu.close_room(self.session_id()).await;
                self.done = true;
            }
        } else {
            self.empty_since = None;
        }
    }

    // ---- helpers ----

    fn admitted_mut(&mut self, id: &str) -> Result<&mut Member, Refusal> {
        self.members
            .get_mut(id)
            .filter(|m| m.admitted)
            .ok_or_else(|| Refusal::new("not_admitted", "Please wait until you are let in."))
    }

    fn client_mut(&mut self, id: &str) -> Result<&mut Member, Refusal> {
        self.members
            .get_mut(id)
            .filter(|m| m.role == Role::Client)
            .ok_or_else(unknown_person)
    }

    fn member_of_media(&self, media: &str) -> Option<String> {
        self.members
            .iter()
            .find(|(_, m)| m.media.as_deref() == Some(media))
            .map(|(id, _)| id.clone())
    }

    fn outgoing_sdp(&self, sdp: String) -> String {
        if self.ctx.rooms.inner.tcp_only {
            sdp::tcp_only(&sdp)
        } else {
            sdp
        }
    }

    async fn leave_media(&self, media: Option<String>) {
        if let Some(media) = media {
            match self
                .ctx
                .state
                .sfu
                .leave(self.session_id(), media.as_str())
                .await
            {
                Ok(()) | Err(SfuError::NoSuchParticipant) | Err(SfuError::NoSuchRoom) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "could not take a participant out of the media room")
                }
            }
        }
    }

    /// Caps what everyone receives by how small the tiles get: with more
    /// people, a lower layer looks the same and saves bandwidth. Applied to
    /// everyone when the cap changes, else only to `joined`.
    async fn apply_layers(&mut self, joined: Option<String>) {
        let streams: Vec<String> = self
            .members
            .values()
            .filter_map(|m| m.media.clone())
            .collect();
        let cap = layer_cap(streams.len());
        let targets = if cap != self.layer_cap {
            self.layer_cap = cap;
            streams
        } else {
            joined.into_iter().collect()
        };
        for media in targets {
            if let Err(err) = self
                .ctx
                .state
                .sfu
                .set_preferred_layer(self.session_id(), media.as_str(), cap)
                .await
            {
                tracing::debug!(error = %err, "layer cap not applied");
            }
        }
    }

    async fn forward(&self, media: Option<String>, kind: TrackKind, allowed: bool) {
        if let Some(media) = media {
            if let Err(err) = self
                .ctx
                .state
                .sfu
                .set_forwarding(self.session_id(), media.as_str(), kind, allowed)
                .await
            {
                tracing::debug!(error = %err, "forwarding change not applied");
            }
        }
    }

    /// `id`'s name as `viewer` sees it: the therapist sees the names they entered.
    fn name_for(&self, id: &str, viewer: Role) -> String {
        match self.members.get(id) {
            Some(m) if viewer == Role::Therapist => m.full_name.clone(),
            Some(m) => m.display.clone(),
            None => String::new(),
        }
    }

    fn roster(&mut self) {
        let mut admitted: Vec<(&String, &Member)> =
            self.members.iter().filter(|(_, m)| m.admitted).collect();
        admitted.sort_by_key(|(_, m)| m.seq);
        let view = |viewer: Role| -> Vec<PersonView> {
            admitted
                .iter()
                .map(|(id, m)| PersonView {
                    id: (*id).clone(),
                    name: if viewer == Role::Therapist {
                        m.full_name.clone()
                    } else {
                        m.display.clone()
                    },
                    role: m.role.as_str(),
                    stream: m.media.clone(),
                    audio: m.audio,
                    video: m.video,
                    host_muted: m.host_muted,
                    host_camera_off: m.host_camera_off,
                    sharing: m.sharing,
                    may_share: m.may_share,
                    connected: m.conn.is_some(),
                })
                .collect()
        };
        let for_therapist = ServerMsg::Roster {
            people: view(Role::Therapist),
            locked: self.locked,
        };
        let for_clients = ServerMsg::Roster {
            people: view(Role::Client),
            locked: self.locked,
        };
        let targets: Vec<(String, Role)> = admitted
            .iter()
            .map(|(id, m)| ((*id).clone(), m.role))
            .collect();
        for (id, role) in targets {
            let msg = if role == Role::Therapist {
                &for_therapist
            } else {
                &for_clients
            };
            self.send_member(&id, msg);
        }
    }

    fn waiting_list(&mut self) {
        let mut waiting: Vec<(u64, WaitingView)> = self
            .members
            .iter()
            .filter(|(_, m)| !m.admitted && m.conn.is_some())
            .map(|(id, m)| {
                (
                    m.seq,
                    WaitingView {
                        id: id.clone(),
                        name: m.full_name.clone(),
                    },
                )
            })
            .collect();
        waiting.sort_by_key(|(seq, _)| *seq);
        let msg = ServerMsg::WaitingList {
            people: waiting.into_iter().map(|(_, w)| w).collect(),
        };
        let therapists: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.role == Role::Therapist)
            .map(|(id, _)| id.clone())
            .collect();
        for id in therapists {
            self.send_member(&id, &msg);
        }
    }

    fn send_controls(&mut self, id: &str) {
        if let Some(m) = self.members.get(id) {
            let msg = ServerMsg::Controls {
                host_muted: m.host_muted,
                host_camera_off: m.host_camera_off,
                may_unmute: m.may_unmute,
                may_share: m.may_share,
            };
            self.send_member(id, &msg);
        }
    }

    fn broadcast_admitted(&mut self, msg: &ServerMsg) {
        let ids: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.admitted)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.send_member(&id, msg);
        }
    }

    fn send_member(&mut self, id: &str, msg: &ServerMsg) {
        if let Some(conn) = self.members.get(id).and_then(|m| m.conn) {
            self.send_conn(conn, msg);
        }
    }

    /// Queues a frame; a socket that cannot keep up is closed rather than
    /// let it hold the room's memory.
    fn send_conn(&mut self, conn: ConnId, msg: &ServerMsg) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if c.tx.try_send(Out::Frame(msg.to_frame())).is_err() {
            self.close_conn(conn);
        }
    }

    fn close_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            let _ = c.tx.try_send(Out::Close);
            if let Some(m) = self.members.get_mut(&c.who.member) {
                if m.conn == Some(conn) {
                    m.conn = None;
                    if m.admitted {
                        m.gone_since = Some(Instant::now());
                    }
                }
            }
        }
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

    async fn audit_target(&self, actor: Actor<'_>, action: Action, kind: TargetKind, id: &str) {
        let event = AuditEvent::new(actor, action).target(kind, id);
        if let Err(err) = audit::record_now(&self.ctx.state, event).await {
            tracing::error!(error = %err, "could not audit a room event");
        }
    }
}

fn actor_of<'a>(member: &'a str, role: Role, owner: &'a str) -> Actor<'a> {
    match role {
        Role::Therapist => Actor::therapist(owner),
        Role::Client => Actor::client(member),
    }
}

fn parse_display(given: Option<&str>, full: &str) -> Result<String, Refusal> {
    let chosen = given.map(str::trim).filter(|s| !s.is_empty());
    let name = match chosen {
        Some(name) => name.to_owned(),
        // Other clients see only the first name unless the client says otherwise.
        None => full.split_whitespace().next().unwrap_or("Guest").to_owned(),
    };
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Refusal::new(
            "bad_name",
            format!("A name has at most {MAX_NAME} characters."),
        ));
    }
    Ok(name)
}

/// The highest simulcast layer worth sending to each of `people` in a grid:
/// full size for up to 4, half size up to 9, quarter size beyond.
fn layer_cap(people: usize) -> Option<usize> {
    match people {
        0..=4 => None,
        5..=9 => Some(1),
        _ => Some(0),
    }
}

fn new_media_id() -> String {
    format!("m{}", uuid::Uuid::new_v4().simple())
}

fn not_allowed() -> Refusal {
    Refusal::new("not_allowed", "Only the therapist can do this.")
}

fn unknown_person() -> Refusal {
    Refusal::new("unknown_person", "This person is not in the room.")
}

fn media_refusal(err: SfuError) -> Refusal {
    match err {
        SfuError::InvalidSdp(_) => {
            Refusal::new("bad_sdp", "The session description was not accepted.")
        }
        SfuError::RoomFull => Refusal::new("room_full", "The room is full."),
        other => {
            tracing::warn!(error = %other, "media engine refused a request");
            Refusal::new(
                "media_unavailable",
                "Video is not available right now. Please try again.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigger_rooms_get_smaller_layers() {
        assert_eq!(layer_cap(2), None);
        assert_eq!(layer_cap(4), None);
        assert_eq!(layer_cap(5), Some(1));
        assert_eq!(layer_cap(16), Some(0));
    }

    #[test]
    fn other_clients_see_a_first_name_unless_one_is_chosen() {
        assert_eq!(parse_display(None, "Ben Okafor").unwrap(), "Ben");
        assert_eq!(parse_display(Some("  "), "Ben Okafor").unwrap(), "Ben");
        assert_eq!(parse_display(Some("B."), "Ben Okafor").unwrap(), "B.");
        assert!(parse_display(Some(&"x".repeat(61)), "Ben").is_err());
        assert!(parse_display(Some("a\u{7}"), "Ben").is_err());
    }
}
