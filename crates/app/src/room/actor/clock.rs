//! The session clock and its end. The server's time is the truth: every
//! `clock` message carries the scheduled start and end and the server's now,
//! so a browser with a wrong clock still counts right.
//!
//! How a room ends by the clock (docs/signaling.md, "The session clock"):
//! - 5 minutes before the scheduled end the therapist's page says so once;
//!   at the end it says so again, with the time the room will close.
//! - At the scheduled end a room without the therapist closes, as before.
//!   While the therapist is in it (a dropped socket keeps their place for
//!   the reconnect grace) it goes on, for at most `OVERTIME` more: that late
//!   bound is on the therapist's screen from the end on, and "Extend" moves
//!   it with the end. So clients are never cut off by a stop the therapist
//!   did not see coming and could not move.
//! - Extend adds 15 minutes to the stored session, unless that would run
//!   into the therapist's next session (or past `MAX_MINUTES`).

use super::{Ending, Room};
use crate::audit::{Action, Actor};
use crate::room::protocol::{Refusal, ServerMsg};
use crate::room::Role;

/// When the therapist gets the gentle notice, before the scheduled end.
pub(super) const NOTICE_BEFORE: i64 = 5 * 60;
/// What one "Extend" adds.
pub(super) const EXTEND_MINUTES: i64 = 15;
/// How long past the scheduled end a room with its therapist stays open.
pub const OVERTIME: i64 = 15 * 60;
/// The longest a session may become by extensions: a bound on the writes a
/// therapist's page can cause, far beyond any real session.
const MAX_MINUTES: i64 = 8 * 60;

/// Where the clock stands; a change is worth a fresh `clock` message (a
/// sleeping tab re-syncs, and the notice comes from the server's time).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) enum Stage {
    #[default]
    Running,
    Notice,
    Over,
}

impl Stage {
    fn at(now: i64, ends_at: i64) -> Self {
        if now >= ends_at {
            Stage::Over
        } else if now >= ends_at - NOTICE_BEFORE {
            Stage::Notice
        } else {
            Stage::Running
        }
    }
}

impl Room {
    fn clock_msg(&self) -> ServerMsg {
        let session = &self.ctx.session;
        ServerMsg::Clock {
            starts_at: session.starts_at,
            ends_at: session.ends_at(),
            closes_at: session.ends_at() + OVERTIME,
            now: self.ctx.state.clock.unix(),
            shown: self.clients_clock,
        }
    }

    /// The clock for one person who just entered the room.
    pub(super) fn send_clock(&mut self, id: &str) {
        let Some(m) = self.members.get(id) else {
            return;
        };
        if m.role == Role::Therapist || self.clients_clock {
            let msg = self.clock_msg();
            self.send_member(id, &msg);
        }
    }

    /// The clock for everyone who sees it, after a change.
    pub(super) fn clock_changed(&mut self) {
        let msg = self.clock_msg();
        let ids: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.admitted && (m.role == Role::Therapist || self.clients_clock))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.send_member(&id, &msg);
        }
    }

    pub(super) fn show_clock(&mut self, on: bool) {
        if self.clients_clock == on {
            return;
        }
        self.clients_clock = on;
        self.clock_changed();
        if on {
            return;
        }
        let clients: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.admitted && m.role == Role::Client)
            .map(|(id, _)| id.clone())
            .collect();
        for id in clients {
            self.send_member(&id, &ServerMsg::ClockHidden);
        }
    }

    /// Fifteen more minutes, stored, unless the therapist's next session
    /// (not cancelled, not over) starts before the new end.
    pub(super) async fn extend(&mut self) -> Result<(), Refusal> {
        let now = self.ctx.state.clock.unix();
        let session = &self.ctx.session;
        let minutes = session.duration_minutes + EXTEND_MINUTES;
        if minutes > MAX_MINUTES {
            return Err(Refusal::new(
                "too_long",
                format!("A session can last at most {} hours.", MAX_MINUTES / 60),
            ));
        }
        let new_end = session.ends_at() + EXTEND_MINUTES * 60;
        let store = &self.ctx.state.store;
        let next = store
            .next_session_of(&session.owner_id, &session.id, session.starts_at)
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "could not read the next session");
                try_again()
            })?;
        if let Some(next) = next.filter(|n| n.starts_at < new_end) {
            return Err(Refusal::new(
                "next_session",
                next_session_text(next.starts_at - now),
            ));
        }
        let extended = store
            .extend_session(
                &session.owner_id,
                &session.id,
                session.duration_minutes,
                EXTEND_MINUTES,
                now,
            )
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "could not extend a session");
                try_again()
            })?;
        if !extended {
            // Changed meanwhile: the room hears of it as a session notice.
            return Err(Refusal::new(
                "session_changed",
                "The session was just changed elsewhere. Please try again.",
            ));
        }
        let session = &mut self.ctx.session;
        session.duration_minutes = minutes;
        session.sequence += 1;
        session.updated_at = now;
        let owner = session.owner_id.clone();
        self.audit(Actor::therapist(&owner), Action::SessionExtended)
            .await;
        self.clock_stage = Stage::at(now, self.ctx.session.ends_at());
        self.clock_changed();
        Ok(())
    }

    /// The clock's part of the room's tick: true when time closed the room.
    pub(super) async fn clock_tick(&mut self) -> bool {
        let now = self.ctx.state.clock.unix();
        let ends_at = self.ctx.session.ends_at();
        let therapist_here = self
            .members
            .values()
            .any(|m| m.role == Role::Therapist && m.admitted);
        if now >= ends_at + OVERTIME || (now >= ends_at && !therapist_here) {
            self.end("The time for this session is over.", Ending::TimeOver)
                .await;
            return true;
        }
        let stage = Stage::at(now, ends_at);
        if stage != self.clock_stage {
            self.clock_stage = stage;
            self.clock_changed();
        }
        false
    }
}

fn try_again() -> Refusal {
    Refusal::new("internal", "That did not work. Please try again.")
}

/// Why an extension is refused, in words that need no time zone.
fn next_session_text(starts_in: i64) -> String {
    let minutes = (starts_in + 59) / 60;
    if minutes <= 0 {
        "Your next session has already started, so this one cannot be extended.".to_owned()
    } else if minutes == 1 {
        "Your next session starts in 1 minute, so this one cannot be extended by 15 minutes."
            .to_owned()
    } else {
        format!(
            "Your next session starts in {minutes} minutes, so this one cannot be extended by 15 minutes."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_follows_the_scheduled_end() {
        let end = 10_000;
        assert_eq!(Stage::at(end - NOTICE_BEFORE - 1, end), Stage::Running);
        assert_eq!(Stage::at(end - NOTICE_BEFORE, end), Stage::Notice);
        assert_eq!(Stage::at(end - 1, end), Stage::Notice);
        assert_eq!(Stage::at(end, end), Stage::Over);
    }

    #[test]
    fn a_refusal_says_when_the_next_session_starts() {
        assert!(next_session_text(600).contains("in 10 minutes"));
        assert!(next_session_text(61).contains("in 2 minutes"));
        assert!(next_session_text(30).contains("in 1 minute,"));
        assert!(next_session_text(0).contains("already started"));
        assert!(next_session_text(-300).contains("already started"));
    }
}
