//! Which of a publisher's tracks the room forwards: one microphone and one
//! camera, plus one more video track (the screen) only while the app allows
//! it. A browser can add any number of m-lines by re-offering; those beyond
//! the limit are accepted but held back, so nobody receives them.
//!
//! The oldest tracks of each kind go out first. When the limit drops, the
//! newest forwarded track is held back (its subscribers' m-lines are
//! stopped); when it rises, the oldest held track goes out again.

use std::time::Instant;

use str0m::media::MediaKind;

use super::{new_subscription, Room};
use crate::error::SfuError;
use crate::ids::{ParticipantId, PeerKey};
use crate::participant::{SubState, TrackKey};

/// Microphones forwarded per participant.
const MAX_AUDIO: usize = 1;
/// Cameras forwarded per participant; a screen share comes on top.
const MAX_CAMERAS: usize = 1;

impl Room {
    /// Allows or stops forwarding a second video track (screen share) of `who`.
    pub fn set_screen_share(
        &mut self,
        now: Instant,
        who: &ParticipantId,
        allowed: bool,
    ) -> Result<(), SfuError> {
        let p = self.participant_mut(who)?;
        p.screen_allowed = allowed;
        let key = p.key;
        self.apply_track_limits(key);
        self.send_offers(now);
        self.settle(now);
        Ok(())
    }

    fn track_limit(&self, key: PeerKey, kind: MediaKind) -> usize {
        let screen = self
            .participants
            .get(&key)
            .is_some_and(|p| p.screen_allowed);
        match kind {
            MediaKind::Audio => MAX_AUDIO,
            MediaKind::Video => MAX_CAMERAS + usize::from(screen),
        }
    }

    /// `key`'s sources of `kind`, oldest first, with whether each is forwarded.
    fn sources_of(&self, key: PeerKey, kind: MediaKind) -> Vec<(TrackKey, bool)> {
        let mut mine: Vec<(u64, TrackKey, bool)> = self
            .sources
            .iter()
            .filter(|(tk, s)| tk.peer == key && s.kind == kind)
            .map(|(tk, s)| (s.seq, *tk, s.forwarded))
            .collect();
        mine.sort_by_key(|(seq, _, _)| *seq);
        mine.into_iter().map(|(_, tk, f)| (tk, f)).collect()
    }

    /// Whether a new source of `kind` from `key` may be forwarded.
    pub(super) fn fits_limit(&self, key: PeerKey, kind: MediaKind) -> bool {
        let forwarded = self
            .sources_of(key, kind)
            .iter()
            .filter(|(_, f)| *f)
            .count();
        forwarded < self.track_limit(key, kind)
    }

    /// Brings `key`'s forwarded sources back within its limits.
    pub(super) fn apply_track_limits(&mut self, key: PeerKey) {
        for kind in [MediaKind::Audio, MediaKind::Video] {
            let limit = self.track_limit(key, kind);
            let mine = self.sources_of(key, kind);
            let mut forwarded: Vec<TrackKey> =
                mine.iter().filter(|(_, f)| *f).map(|(tk, _)| *tk).collect();
            while forwarded.len() > limit {
                // Just checked: more than `limit` (>= 0) entries.
                let Some(tk) = forwarded.pop() else { break };
                self.hold_back(tk);
            }
            for (tk, _) in mine.iter().filter(|(_, f)| !*f) {
                if forwarded.len() >= limit {
                    break;
                }
                if let Some(s) = self.sources.get_mut(tk) {
                    s.forwarded = true;
                }
                forwarded.push(*tk);
            }
        }
        self.sync_subscriptions();
    }

    fn hold_back(&mut self, tk: TrackKey) {
        if let Some(s) = self.sources.get_mut(&tk) {
            s.forwarded = false;
        }
        for p in self.participants.values_mut() {
            if let Some(sub) = p.subs.get_mut(&tk) {
                sub.source_gone = true;
            }
        }
    }

    /// Every participant subscribes to each forwarded source of the others.
    /// A subscription still being stopped (the source was held back, then
    /// allowed again) is left to finish; a later tick opens a new one.
    pub(super) fn sync_subscriptions(&mut self) {
        // Nobody subscribes to a held participant's tracks until they are
        // admitted; held ones subscribe (negotiated, nothing written).
        for (tk, source) in self.sources.iter().filter(|(_, s)| s.forwarded) {
            let Some(publisher) = self
                .participants
                .get(&tk.peer)
                .filter(|p| !p.held)
                .map(|p| p.id.clone())
            else {
                continue;
            };
            for (k, p) in self.participants.iter_mut() {
                if *k == tk.peer {
                    continue;
                }
                match p.subs.get_mut(tk) {
                    None => {
                        p.subs
                            .insert(*tk, new_subscription(source.kind, &publisher));
                    }
                    Some(sub)
                        if sub.source_gone
                            && !matches!(
                                sub.state,
                                SubState::ToStop(_) | SubState::NegotiatingStop(_)
                            ) =>
                    {
                        sub.source_gone = false;
                    }
                    Some(_) => {}
                }
            }
        }
    }
}
