//! The room's side of the media engine: offers and answers, engine events,
//! server-side mute, and the simulcast cap by room size.

use regroup_sfu::{DisconnectReason, Event, SfuError, TrackKind};

use super::Room;
use crate::room::protocol::{Refusal, ServerMsg};
use crate::room::sdp;

impl Room {
    pub(super) async fn media_offer(
        &mut self,
        id: &str,
        sdp: String,
        fresh: bool,
    ) -> Result<(), Refusal> {
        // A waiting client may connect early (see `welcome`'s
        // `media_while_waiting`): the engine holds them until admission.
        let m = self.member_mut(id)?;
        let admitted = m.admitted;
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
                let result = if admitted {
                    sfu.join(room.as_str(), media.as_str(), sdp).await
                } else {
                    sfu.join_held(room.as_str(), media.as_str(), sdp).await
                };
                if result.is_ok() {
                    let (audio_off, video_off, may_share, audio_only) =
                        match self.members.get_mut(id) {
                            Some(m) => {
                                m.media = Some(media.clone());
                                (m.host_muted, m.host_camera_off, m.may_share, m.audio_only)
                            }
                            None => (false, false, false, false),
                        };
                    if audio_only {
                        self.receive_video(Some(media.clone()), false).await;
                    }
                    // The engine forwards a screen only once told it may.
                    if may_share {
                        self.allow_screen_media(Some(media.clone()), true).await;
                    }
                    if audio_off {
                        self.forward(Some(media.clone()), TrackKind::Audio, false)
                            .await;
                    }
                    if video_off {
                        self.forward(Some(media.clone()), TrackKind::Video, false)
                            .await;
                    }
                    if admitted {
                        self.apply_layers(Some(media.clone())).await;
                        self.roster();
                    }
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

    pub(super) async fn media_answer(&mut self, id: &str, sdp: String) -> Result<(), Refusal> {
        // A waiting client answers too: the engine offers the room's tracks
        // to a held connection, and writes to it only after admission.
        let media = self
            .member_mut(id)?
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

    pub(super) async fn self_state(
        &mut self,
        id: &str,
        audio: bool,
        video: bool,
        hand: Option<bool>,
    ) -> Result<(), Refusal> {
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
        if let Some(hand) = hand {
            m.hand = hand;
        }
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

    pub(super) async fn engine(&mut self, event: Event) {
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
            Event::Downlink {
                participant, low, ..
            } => {
                if let Some(id) = self.member_of_media(participant.as_str()) {
                    self.send_member(&id, &ServerMsg::Downlink { low });
                }
            }
            Event::Connected { .. }
            | Event::TrackPublished { .. }
            | Event::TrackUnpublished { .. } => {}
        }
    }

    pub(super) fn member_of_media(&self, media: &str) -> Option<String> {
        self.members
            .iter()
            .find(|(_, m)| m.media.as_deref() == Some(media))
            .map(|(id, _)| id.clone())
    }

    pub(super) fn outgoing_sdp(&self, sdp: String) -> String {
        if self.ctx.rooms.inner.tcp_only {
            sdp::tcp_only(&sdp)
        } else {
            sdp
        }
    }

    pub(super) async fn leave_media(&self, media: Option<String>) {
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
    pub(super) async fn apply_layers(&mut self, joined: Option<String>) {
        // Held (waiting) connections receive nothing, so they do not count.
        let streams: Vec<String> = self
            .members
            .values()
            .filter(|m| m.admitted)
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

    /// Whether the engine may forward a second video track (the screen) of
    /// this media connection; without it, any track beyond one camera and
    /// one microphone reaches no one.
    pub(super) async fn allow_screen_media(&self, media: Option<String>, allowed: bool) {
        if let Some(media) = media {
            if let Err(err) = self
                .ctx
                .state
                .sfu
                .set_screen_share(self.session_id(), media.as_str(), allowed)
                .await
            {
                tracing::debug!(error = %err, "screen share permission not applied");
            }
        }
    }

    /// The participant's choice of audio only: the engine stops (or
    /// resumes) writing video to them, and everyone sees it on the roster.
    pub(super) async fn audio_only(&mut self, id: &str, on: bool) -> Result<(), Refusal> {
        let m = self.admitted_mut(id)?;
        if m.audio_only == on {
            return Ok(());
        }
        m.audio_only = on;
        let media = m.media.clone();
        self.receive_video(media, !on).await;
        self.roster();
        Ok(())
    }

    async fn receive_video(&self, media: Option<String>, on: bool) {
        if let Some(media) = media {
            if let Err(err) = self
                .ctx
                .state
                .sfu
                .set_receive_video(self.session_id(), media.as_str(), on)
                .await
            {
                tracing::debug!(error = %err, "audio only not applied");
            }
        }
    }

    pub(super) async fn forward(&self, media: Option<String>, kind: TrackKind, allowed: bool) {
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

pub(super) fn media_refusal(err: SfuError) -> Refusal {
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
}
