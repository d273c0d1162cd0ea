// The pre-call connectivity check: a throwaway media connection to the
// server that sends nothing, to learn before joining whether video can get
// through this network, and how (UDP, TCP or a relay). See the probe
// messages in docs/signaling.md.

const WAIT_MS = 12000;
const UDP_GRACE_MS = 2000;
const REFUSALS = new Set(['bad_sdp', 'too_many_probes', 'media_unavailable']);

export class Probe {
  constructor(signal) {
    this.signal = signal;
    this.pc = null;
    this.done = false;
  }

  // Resolves to 'udp', 'tcp' or 'relay'; rejects when media cannot get through.
  run() {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.timer = setTimeout(() => this.fail('timeout'), WAIT_MS);
      // A socket that reached another node than the room's is moved there
      // (or a dropped one comes back): the check starts again on the new one.
      this.reopened = () => {
        if (this.done) return;
        if (this.pc) this.pc.close();
        this.pc = null;
        this.signal.send('probe');
      };
      this.signal.addEventListener('open', this.reopened);
      this.signal.send('probe');
    });
  }

  // Feeds signaling messages to the check; true when the message was its own.
  async handle(msg) {
    if (msg.type === 'probe_ready' && !this.pc) {
      await this.offer(msg.ice_servers || []);
      return true;
    }
    if (msg.type === 'probe_answer' && this.pc) {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp }).catch(() => this.fail('answer'));
      return true;
    }
    // The server refused the offer (bad SDP, too many checks, engine down).
    if (msg.type === 'error' && this.pc && !this.done && REFUSALS.has(msg.code)) {
      this.fail(msg.code);
      return true;
    }
    return msg.type === 'probe_ready' || msg.type === 'probe_answer';
  }

  async offer(iceServers) {
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc = pc;
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') this.connected();
      if (pc.connectionState === 'failed') this.fail('failed');
    });
    // Receive-only audio: enough for ICE and DTLS, and nothing is sent.
    pc.addTransceiver('audio', { direction: 'recvonly' });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      this.signal.send('probe_offer', { sdp: pc.localDescription.sdp });
    } catch {
      this.fail('offer');
    }
  }

  // Connected: now find out how. The first pair to connect may be TCP even
  // where UDP works (its check simply answered first), so the check waits a
  // moment for a direct UDP pair before it reports a slower route.
  async connected() {
    if (this.done) return;
    clearTimeout(this.timer);
    const deadline = Date.now() + UDP_GRACE_MS;
    let routes = await this.routes();
    while (!routes.udp && Date.now() < deadline && !this.done) {
      await new Promise((r) => setTimeout(r, 250));
      routes = await this.routes();
    }
    this.settle(true, routes.udp ? 'udp' : routes.relay ? 'relay' : routes.tcp ? 'tcp' : 'udp');
  }

  // Which kinds of route have a working candidate pair.
  async routes() {
    const found = { udp: false, tcp: false, relay: false };
    try {
      const report = await this.pc.getStats();
      const byId = new Map();
      report.forEach((s) => byId.set(s.id, s));
      report.forEach((s) => {
        if (s.type !== 'candidate-pair' || s.state !== 'succeeded') return;
        const local = byId.get(s.localCandidateId);
        if (!local) return;
        if (local.candidateType === 'relay') found.relay = true;
        else if (local.protocol === 'tcp') found.tcp = true;
        else found.udp = true;
      });
    } catch {
      // Without stats the connection still worked; UDP is the usual way.
      found.udp = true;
    }
    return found;
  }

  fail(why) {
    this.settle(false, why);
  }

  settle(ok, value) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.signal.removeEventListener('open', this.reopened);
    this.signal.send('probe_end');
    if (this.pc) this.pc.close();
    if (ok) this.resolve(value);
    else this.reject(new Error(value));
  }
}
