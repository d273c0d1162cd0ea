//! The pre-call connectivity check. Before joining, the browser opens a
//! throwaway media connection to the engine, in an engine room of its own
//! that nobody else is in, and sees whether ICE and DTLS get through its
//! network (and over UDP, TCP or a relay). Nothing is published or
//! forwarded. The throwaway room goes on `probe_end`, on the next probe, and
//! with the socket.

use super::Room;
use crate::room::protocol::{Refusal, ServerMsg};
use crate::room::ConnId;

/// Checks per socket: each one costs an engine room, and a page needs one
/// (a few more if the person retries).
const MAX_PROBES: u32 = 5;

impl Room {
    /// TURN credentials go only to someone who said `hello` (and so shows
    /// in the therapist's waiting list); before it the check tests direct
    /// UDP and TCP only, so a link cannot be mined for relay credentials.
    pub(super) fn probe_ready(&mut self, conn: ConnId) -> Result<(), Refusal> {
        let Some(c) = self.conns.get(&conn) else {
            return Ok(());
        };
        let ice_servers = if c.joined {
            self.ice_servers(&c.who.member)
        } else {
            Vec::new()
        };
        self.send_conn(conn, &ServerMsg::ProbeReady { ice_servers });
        Ok(())
    }

    pub(super) async fn probe_offer(&mut self, conn: ConnId, sdp: String) -> Result<(), Refusal> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Ok(());
        };
        if c.probes >= MAX_PROBES {
            return Err(Refusal::new(
                "too_many_probes",
                "The connection was checked often enough. Reload the page to check again.",
            ));
        }
        c.probes += 1;
        let n = c.probes;
        // Not a live room's id, so `Rooms::route` drops this room's engine
        // events: the check reads its outcome in the browser, not here.
        let room = format!("{}/probe/{conn}/{n}", self.session_id());
        self.end_probe(conn);
        let answer = self
            .ctx
            .state
            .sfu
            .join(room.as_str(), "probe", sdp)
            .await
            .map_err(super::media::media_refusal)?;
        match self.conns.get_mut(&conn) {
            Some(c) => c.probe = Some(room),
            None => return Ok(()),
        }
        let sdp = self.outgoing_sdp(answer);
        self.send_conn(conn, &ServerMsg::ProbeAnswer { sdp });
        Ok(())
    }

    /// Drops the socket's throwaway room, if it has one. The engine call
    /// runs on its own so that closing a socket never waits for it.
    pub(super) fn end_probe(&mut self, conn: ConnId) {
        let Some(room) = self.conns.get_mut(&conn).and_then(|c| c.probe.take()) else {
            return;
        };
        let sfu = self.ctx.state.sfu.clone();
        tokio::spawn(async move {
            let _ = sfu.close_room(room.as_str()).await;
        });
    }
}
