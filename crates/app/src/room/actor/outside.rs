//! Changes made outside the room that it must act on at once: the session
//! cancelled, moved or shortened, an invitation revoked, a client deleted,
//! the therapist's account suspended. Without these, an admitted client
//! would keep media and chat until the old end time.

use super::{Ending, Room};
use crate::room::protocol::ServerMsg;
use crate::room::{ConnId, Notice};
use crate::schedule::invitations::{self, Window};

const NOT_INVITED: &str = "You are no longer invited to this session.";

impl Room {
    pub(super) async fn notice(&mut self, notice: Notice) {
        match notice {
            Notice::Session(row) => {
                let window = invitations::window(&row, self.ctx.state.clock.unix());
                let cancelled = row.is_cancelled();
                let shortened = row.ends_at() < self.ctx.session.ends_at();
                self.ctx.session = *row;
                if cancelled {
                    self.end("Your therapist cancelled this session.", Ending::Closed)
                        .await;
                    return;
                }
                match window {
                    Window::Open => {}
                    // An edit that leaves the end where it was (a new title
                    // while the room runs over) is not a reason to close:
                    // the clock decides, as for a room nobody touched.
                    Window::Ended if !shortened => {}
                    Window::Ended => {
                        self.end("The time for this session is over.", Ending::TimeOver)
                            .await
                    }
                    Window::TooEarly => {
                        self.end(
                            "Your therapist moved this session to another time.",
                            Ending::Closed,
                        )
                        .await
                    }
                }
                if !self.done {
                    // The end may have moved: clocks show the new one.
                    self.clock_changed();
                }
            }
            Notice::Revoked(participant) => self.take_out(&participant, NOT_INVITED).await,
            Notice::ClientDeleted(client) => {
                let client = Some(client);
                let mut ids: Vec<String> = self
                    .members
                    .iter()
                    .filter(|(_, m)| m.client == client)
                    .map(|(id, _)| id.clone())
                    .collect();
                ids.extend(
                    self.conns
                        .values()
                        .filter(|c| c.who.client == client)
                        .map(|c| c.who.member.clone()),
                );
                ids.sort();
                ids.dedup();
                for id in ids {
                    self.take_out(&id, NOT_INVITED).await;
                }
            }
            Notice::Close(message) => self.end(message, Ending::Closed).await,
        }
    }

    /// Tells every socket of `id` (joined or not) that they were removed,
    /// closes them, and takes `id` out of the room.
    pub(super) async fn take_out(&mut self, id: &str, message: &'static str) {
        let removed = ServerMsg::Removed { message };
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.who.member == id)
            .map(|(k, _)| *k)
            .collect();
        for conn in conns {
            self.send_conn(conn, &removed);
            self.close_conn(conn);
        }
        self.remove_member(id).await;
    }
}
