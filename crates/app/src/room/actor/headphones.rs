//! Headphones, as far as a client's browser names them (`self_state`): the
//! pre-call privacy check asks clients to wear some, and the therapist sees
//! on the client's tile that the browser reports them. Kept in the room's
//! memory only, never stored or logged, and only in the therapist's roster.

use super::Room;

impl Room {
    /// Notes what the browser said; absent means unchanged. People not yet
    /// admitted have no tile, so their word waits for the next `self_state`.
    pub(super) fn headphones(&mut self, id: &str, headphones: Option<bool>) {
        if let (Some(on), Some(m)) = (headphones, self.members.get_mut(id)) {
            if m.admitted {
                m.headphones = on;
            }
        }
    }
}
