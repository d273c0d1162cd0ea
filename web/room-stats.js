// Connection quality per remote person, from RTCPeerConnection.getStats()
// every two seconds: round-trip time to the media server (the selected
// candidate pair), packet loss since the last look (packetsLost against
// packetsReceived, per track) and the height of the video layer received.
const EVERY_MS = 2000;

// good / fair / poor, and the figures in words for the tooltip.
// `people`: how many are in the room; beyond nine the server sends everyone
// the lowest layer on purpose (layer_cap in the room actor), so a small
// picture says nothing about the connection there.
export function judge({ rtt, loss, height, people = 2 }) {
  let level = 'good';
  const worse = (l) => { if (l === 'poor' || level === 'good') level = l; };
  if (rtt != null && rtt > 0.3) worse('fair');
  if (rtt != null && rtt > 0.6) worse('poor');
  if (loss != null && loss > 0.02) worse('fair');
  if (loss != null && loss > 0.08) worse('poor');
  // The lowest layer (a quarter of the camera) means the sender or this
  // receiver is short of bandwidth.
  if (height && height < 150 && people <= 9) worse('fair');
  const parts = [];
  if (rtt != null) parts.push(`RTT ${Math.round(rtt * 1000)} ms`);
  if (loss != null) parts.push(`loss ${(loss * 100).toFixed(1)}%`);
  if (height) parts.push(`${height}p`);
  return { level, detail: parts.join(', ') || 'measuring…' };
}

export class Stats {
  // `pc()`: the current connection (or null); `onUpdate(stats)` gets
  // { rtt, tracks: Map(trackId -> { loss, height, frames }) } (frames: video
  // frames decoded so far).
  constructor(pc, onUpdate) {
    this.pc = pc;
    this.onUpdate = onUpdate;
    this.last = new Map(); // trackId -> { lost, received }
    this.timer = null;
  }

  start() {
    if (this.timer) return;
    this.timer = setInterval(() => this.sample().catch(() => {}), EVERY_MS);
    this.sample().catch(() => {});
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.last.clear();
  }

  async sample() {
    const pc = this.pc();
    if (!pc || pc.connectionState === 'closed') return;
    const report = await pc.getStats();
    // Older reports lack trackIdentifier; the transceiver's mid links them.
    const byMid = new Map();
    for (const t of pc.getTransceivers()) {
      if (t.mid != null && t.receiver.track) byMid.set(t.mid, t.receiver.track.id);
    }
    let pairId = null;
    report.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
    let rtt = null;
    const tracks = new Map();
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && s.currentRoundTripTime != null
        && (s.id === pairId || (!pairId && s.nominated && s.state === 'succeeded'))) {
        rtt = s.currentRoundTripTime;
      }
      if (s.type !== 'inbound-rtp') return;
      const id = s.trackIdentifier || byMid.get(s.mid);
      if (!id) return;
      const lost = Math.max(0, s.packetsLost || 0);
      const received = s.packetsReceived || 0;
      const before = this.last.get(id);
      this.last.set(id, { lost, received });
      let loss = null;
      if (before) {
        const dl = lost - before.lost;
        const dr = received - before.received;
        if (dl + dr > 0) loss = Math.max(0, dl) / (Math.max(0, dl) + Math.max(0, dr));
        else loss = 0;
      }
      const video = s.kind === 'video';
      tracks.set(id, { loss, height: video ? s.frameHeight || 0 : 0, frames: video ? s.framesDecoded : null, kind: s.kind });
    });
    this.onUpdate({ rtt, tracks });
  }
}

// One person's figures from their tracks: the worst loss, the camera's height.
export function forPerson(stats, trackIds, people) {
  let loss = null;
  let height = 0;
  for (const id of trackIds) {
    const t = stats.tracks.get(id);
    if (!t) continue;
    if (t.loss != null) loss = Math.max(loss || 0, t.loss);
    if (t.kind === 'video' && t.height) height = t.height;
  }
  return judge({ rtt: stats.rtt, loss, height, people });
}
