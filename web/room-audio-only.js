// Offering audio only when the pictures cannot keep up: the server says the
// network towards us is too slow (`downlink`), or a picture that should move
// has not changed for 5 s. The page never switches by surprise: it shows a
// banner, and the person chooses. "Not now" quiets stalls for two minutes;
// the server's next word on the network offers it again.
const STALL_MS = 5000;
const QUIET_MS = 120000;
const SLOW = 'Your connection is too slow for video right now. Audio only keeps the conversation going.';
const STALLED = 'Video has stopped coming through. Audio only keeps the conversation going.';

export class AudioOnlyOffer {
  // `accept()`: switch to audio only.
  constructor(accept) {
    this.el = document.getElementById('audio-only-offer');
    this.text = document.getElementById('audio-only-reason');
    this.frames = new Map(); // trackId -> { frames, since }
    this.quietUntil = 0;
    document.getElementById('audio-only-accept').addEventListener('click', () => {
      this.hide();
      accept();
    });
    document.getElementById('audio-only-dismiss').addEventListener('click', () => {
      this.quietUntil = Date.now() + QUIET_MS;
      this.hide();
    });
  }

  show(text) {
    // Shown first, then filled: a live region announces what changes in it.
    this.el.hidden = false;
    this.text.textContent = text;
  }

  hide() {
    this.el.hidden = true;
  }

  // The server's `downlink` message.
  downlink(low, audioOnly) {
    if (low && !audioOnly) this.show(SLOW);
    else if (!low && this.text.textContent === SLOW) this.hide();
  }

  // Every stats sample: `expected` holds the camera track ids whose
  // pictures should be moving (people with their camera on, connected).
  watch(stats, expected, audioOnly) {
    const now = Date.now();
    for (const id of this.frames.keys()) if (!expected.includes(id)) this.frames.delete(id);
    if (audioOnly) {
      this.frames.clear();
      return;
    }
    let stalled = false;
    for (const id of expected) {
      const t = stats.tracks.get(id);
      if (!t || t.frames == null) continue;
      const seen = this.frames.get(id);
      if (!seen || seen.frames !== t.frames) this.frames.set(id, { frames: t.frames, since: now });
      else if (now - seen.since >= STALL_MS) stalled = true;
    }
    if (stalled && now >= this.quietUntil && this.el.hidden) this.show(STALLED);
  }
}
