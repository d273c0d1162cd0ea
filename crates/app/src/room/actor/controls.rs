//! The therapist's controls: admit, deny, move back, lock, mute, camera
//! off, allow, remove, end.

use std::collections::HashMap;

use regroup_sfu::{SfuError, TrackKind};

use super::{actor_of, not_allowed, unknown_person, Ending, Room, WAIT_TEXT};
use crate::audit::{Action, Actor, TargetKind};
use crate::ids::ParticipantId;
use crate::room::bilateral::Settings;
use crate::room::protocol::{ClientMsg, Refusal, ServerMsg};
use crate::room::{ConnId, Role};

impl Room {
    pub(super) async fn control(&mut self, msg: ClientMsg) -> Result<(), Refusal> {
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
                let (conn, media) = (m.conn, m.media.clone());
                if let Some(conn) = conn {
                    self.send_conn(
                        conn,
                        &ServerMsg::Denied {
                            message: "Your therapist could not let you in this time.",
                        },
                    );
                    self.close_conn(conn);
                }
                self.members.remove(&id);
                // Their held media connection goes too.
                self.leave_media(media).await;
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
                m.hand = false;
                let media = m.media.take();
                let conn = m.conn;
                self.bilateral_gone(&id);
                self.keep_admitted(&id, false);
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
                self.keep_lock().await;
                self.roster();
                Ok(())
            }
            ClientMsg::Mute { id } => self.host_turns_off(&id, TrackKind::Audio).await,
            ClientMsg::CameraOff { id } => self.host_turns_off(&id, TrackKind::Video).await,
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
                let media = m.media.clone();
                self.allow_screen_media(media, allowed).await;
                self.send_controls(&id);
                self.roster();
                Ok(())
            }
            ClientMsg::Remove { id } => self.remove_client(&id).await,
            ClientMsg::End => {
                self.end("Your therapist ended the session.", Ending::Therapist)
                    .await;
                Ok(())
            }
            // Session clock (clock.rs).
            ClientMsg::Extend {} => self.extend().await,
            ClientMsg::ShowClock { on } => {
                self.show_clock(on);
                Ok(())
            }
            ClientMsg::Bilateral {
                target,
                running,
                speed,
                color,
                size,
                tones,
            } => {
                let settings = Settings::parse(running, speed, &color, size, tones)?;
                self.bilateral_set(target, settings)
            }
            ClientMsg::BilateralStop => {
                self.bilateral_stop();
                Ok(())
            }
            _ => Err(Refusal::new(
                "bad_message",
                "This message is not a control.",
            )),
        }
    }

    /// Mute or camera off: the server stops forwarding the track, and the
    /// client may turn it on again only once the therapist allows it.
    async fn host_turns_off(&mut self, id: &str, kind: TrackKind) -> Result<(), Refusal> {
        let m = self.client_mut(id)?;
        m.may_unmute = false;
        match kind {
            TrackKind::Audio => (m.host_muted, m.audio) = (true, false),
            TrackKind::Video => (m.host_camera_off, m.video) = (true, false),
        }
        let media = m.media.clone();
        self.forward(media, kind, false).await;
        self.send_controls(id);
        self.roster();
        Ok(())
    }

    pub(super) async fn admit(&mut self, id: &str) -> Result<(), Refusal> {
        if self.let_in(id).await? {
            self.audit_later(id, Action::RoomJoined);
        }
        Ok(())
    }

    /// Admission without its audit entry (the caller writes it); false when
    /// there was nobody waiting to let in.
    async fn let_in(&mut self, id: &str) -> Result<bool, Refusal> {
        let m = self.members.get_mut(id).ok_or_else(unknown_person)?;
        if m.admitted || m.conn.is_none() {
            return Ok(false);
        }
        m.admitted = true;
        let (conn, media) = (m.conn, m.media.clone());
        self.keep_admitted(id, true);
        if let Some(conn) = conn {
            self.send_conn(conn, &ServerMsg::Admitted);
        }
        // A connection set up while waiting is ready, the room's tracks
        // negotiated: the engine now forwards both ways. The layer cap goes
        // first, so the keyframes asked for at admission are of that layer.
        if let Some(media) = &media {
            self.apply_layers(Some(media.clone())).await;
            if let Err(err) = self
                .ctx
                .state
                .sfu
                .admit(self.session_id(), media.as_str())
                .await
            {
                tracing::debug!(error = %err, "held media connection not admitted");
            }
        }
        self.send_controls(id);
        self.send_clock(id);
        self.bilateral_resend(id);
        self.roster();
        self.waiting_list();
        Ok(true)
    }

    /// Remove: the client leaves and their invitation is revoked, so their
    /// link no longer opens this session.
    pub(super) async fn remove_client(&mut self, id: &str) -> Result<(), Refusal> {
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
            .participant_by_id(&ParticipantId::from(id))
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
        self.take_out(id, "Your therapist removed you from this session.")
            .await;
        Ok(())
    }

    /// Takes someone out of the room (left, removed, or gone too long).
    pub(super) async fn remove_member(&mut self, id: &str) {
        let Some(m) = self.members.remove(id) else {
            return;
        };
        self.bilateral_gone(id);
        if m.admitted {
            self.audit(
                actor_of(id, m.role, &self.ctx.session.owner_id),
                Action::RoomLeft,
            )
            .await;
            self.keep_admitted(id, false);
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

    /// Ends the room for everyone. Unless it was closed from outside, the
    /// session is over for good and its links stop working.
    pub(super) async fn end(&mut self, message: &'static str, how: Ending) {
        let surveys = self.survey_tickets(how);
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
        if how != Ending::Closed {
            self.mark_over(how).await;
        }
        // Told last, so that everything above is recorded when they hear it.
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            let survey = surveys.get(&conn).cloned();
            self.send_conn(conn, &ServerMsg::Ended { message, survey });
            self.close_conn(conn);
        }
        tracing::info!(session = %self.ctx.session.id, "room ended");
        self.done = true;
    }

    /// A survey ticket for the socket of each person in the room, when the
    /// session is over for good (not when it was closed from outside).
    fn survey_tickets(&self, how: Ending) -> HashMap<ConnId, String> {
        if how == Ending::Closed {
            return HashMap::new();
        }
        let present: Vec<(ConnId, Role)> = self
            .members
            .values()
            .filter(|m| m.admitted)
            .filter_map(|m| Some((m.conn?, m.role)))
            .collect();
        let people = self.members.values().filter(|m| m.admitted).count();
        let session = &self.ctx.session;
        present
            .into_iter()
            .map(|(conn, role)| {
                let ticket = crate::surveys::ticket_for(
                    &self.ctx.state,
                    session.kind.as_str(),
                    people,
                    role.as_str(),
                    &session.owner_id,
                );
                (conn, ticket)
            })
            .collect()
    }

    /// Records that the session is over, so its links stay closed.
    async fn mark_over(&mut self, how: Ending) {
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
        let actor = if how == Ending::Therapist {
            Actor::therapist(&self.ctx.session.owner_id)
        } else {
            Actor::system()
        };
        // Its entry comes after the room's queued ones (admissions).
        self.writes.flush().await;
        self.audit(actor, Action::SessionEnded).await;
    }
}
