//! What of the room outlives this node (`store/room_state.rs`): who was let
//! in and the lock are written as they change and read when the room starts,
//! so a room restarted on another node after this one died lets its clients
//! back without a second admission. A room that closes normally keeps
//! nothing. A failed write is logged and the room goes on: what it costs is
//! a second admission after a crash, never a wrong one.

use super::Room;

impl Room {
    pub(super) async fn restore_kept(&mut self) {
        match self.ctx.state.store.kept_room(&self.ctx.session.id).await {
            Ok(kept) => {
                self.locked = kept.locked;
                if !kept.admitted.is_empty() {
                    tracing::info!(
                        session = %self.ctx.session.id,
                        admitted = kept.admitted.len(),
                        "room restarted; its clients come back without waiting"
                    );
                }
                self.kept = kept.admitted.into_iter().collect();
            }
            Err(err) => tracing::warn!(error = %err, "could not read the room's kept state"),
        }
    }

    /// Queued (see `writes.rs`): an admission must not wait for its commit.
    pub(super) fn keep_admitted(&self, member: &str, admitted: bool) {
        let store = self.ctx.state.store.clone();
        let session = self.ctx.session.id.clone();
        let (member, now) = (member.to_owned(), self.ctx.state.clock.unix());
        self.writes.later(async move {
            let done = if admitted {
                store.keep_admission(&session, &member, now).await
            } else {
                store.forget_admission(&session, &member).await
            };
            if let Err(err) = done {
                tracing::warn!(error = %err, "could not keep an admission");
            }
        });
    }

    pub(super) async fn keep_lock(&self) {
        let store = &self.ctx.state.store;
        if let Err(err) = store.keep_lock(&self.ctx.session.id, self.locked).await {
            tracing::warn!(error = %err, "could not keep the room's lock");
        }
    }

    pub(super) async fn forget_kept(&self) {
        if let Err(err) = self.ctx.state.store.forget_room(&self.ctx.session.id).await {
            tracing::warn!(error = %err, "could not drop the room's kept state");
        }
    }
}
