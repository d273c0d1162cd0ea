//! Who sees the bilateral stimulation dot: one admitted client the therapist
//! chose, and the therapist (whose panel follows the state). The room keeps
//! the current settings so a target that reconnects gets them again; the dot
//! stops when its target leaves or is moved back to the waiting room.

use super::Room;
use crate::room::bilateral::{bad, Settings};
use crate::room::protocol::Refusal;
use crate::room::protocol::ServerMsg;
use crate::room::Role;

/// The dot that is on (running or paused), and for whom.
pub(super) struct Bilateral {
    target: String,
    settings: Settings,
}

impl Room {
    /// Start, change or pause. A new target takes the dot from the old one.
    pub(super) fn bilateral_set(
        &mut self,
        target: String,
        settings: Settings,
    ) -> Result<(), Refusal> {
        let is_client = self
            .members
            .get(&target)
            .is_some_and(|m| m.admitted && m.role == Role::Client);
        if !is_client {
            return Err(bad("The target is not a client in the room.".into()));
        }
        if let Some(old) = self.bilateral.take().filter(|b| b.target != target) {
            self.send_member(
                &old.target,
                &ServerMsg::BilateralStop {
                    target: old.target.clone(),
                },
            );
        }
        let msg = settings.message(&target);
        self.send_member(&target, &msg);
        self.send_therapists(&msg);
        self.bilateral = Some(Bilateral { target, settings });
        Ok(())
    }

    pub(super) fn bilateral_stop(&mut self) {
        let Some(old) = self.bilateral.take() else {
            return;
        };
        let msg = ServerMsg::BilateralStop {
            target: old.target.clone(),
        };
        self.send_member(&old.target, &msg);
        self.send_therapists(&msg);
    }

    /// `id` left or went back to waiting: a dot meant for them stops.
    pub(super) fn bilateral_gone(&mut self, id: &str) {
        if self.bilateral.as_ref().is_some_and(|b| b.target == id) {
            self.bilateral_stop();
        }
    }

    /// `id` (re)joined: the target and the therapist get the current state.
    pub(super) fn bilateral_resend(&mut self, id: &str) {
        let Some(b) = &self.bilateral else {
            return;
        };
        let therapist = self
            .members
            .get(id)
            .is_some_and(|m| m.role == Role::Therapist);
        if b.target == id || therapist {
            let msg = b.settings.message(&b.target);
            self.send_member(id, &msg);
        }
    }

    fn send_therapists(&mut self, msg: &ServerMsg) {
        let ids: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.role == Role::Therapist)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.send_member(&id, msg);
        }
    }
}
