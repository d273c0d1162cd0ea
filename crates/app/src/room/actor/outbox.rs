//! What the room tells sockets: chat, roster, waiting list, controls.
//! Frames are queued without waiting; a socket that falls behind is closed.

use tokio::time::Instant;

use super::{Member, Room};
use crate::room::protocol::{PersonView, Refusal, ServerMsg, WaitingView, MAX_CHAT};
use crate::room::{ConnId, Out, Role};

impl Room {
    pub(super) fn chat(&mut self, id: &str, text: &str) -> Result<(), Refusal> {
        let sender_role = self.admitted_mut(id)?.role.as_str();
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
                    role: sender_role,
                    text: text.to_owned(),
                },
            );
        }
        Ok(())
    }

    /// `id`'s name as `viewer` sees it: the therapist sees the names they entered.
    pub(super) fn name_for(&self, id: &str, viewer: Role) -> String {
        match self.members.get(id) {
            Some(m) if viewer == Role::Therapist => m.full_name.clone(),
            Some(m) => m.display.clone(),
            None => String::new(),
        }
    }

    pub(super) fn roster(&mut self) {
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
                    hand: m.hand,
                    audio_only: m.audio_only,
                    // Only the therapist sees it, and only on a client.
                    headphones: viewer == Role::Therapist && m.role == Role::Client && m.headphones,
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

    pub(super) fn waiting_list(&mut self) {
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

    pub(super) fn send_controls(&mut self, id: &str) {
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

    pub(super) fn broadcast_admitted(&mut self, msg: &ServerMsg) {
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

    pub(super) fn send_member(&mut self, id: &str, msg: &ServerMsg) {
        if let Some(conn) = self.members.get(id).and_then(|m| m.conn) {
            self.send_conn(conn, msg);
        }
    }

    /// Queues a frame; a socket that cannot keep up is closed rather than
    /// let it hold the room's memory.
    pub(super) fn send_conn(&mut self, conn: ConnId, msg: &ServerMsg) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if c.tx.try_send(Out::Frame(msg.to_frame())).is_err() {
            self.close_conn(conn);
        }
    }

    pub(super) fn close_conn(&mut self, conn: ConnId) {
        self.end_probe(conn);
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
}
