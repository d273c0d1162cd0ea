// The pre-call connectivity check: a throwaway media connection to the
// server that sends nothing, to learn before joining whether video can get
// through this network, and how (UDP, TCP or a relay). See the probe
// messages in docs/signaling.md.

const WAIT_MS = 12000;
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

  async connected() {
    let how = 'udp';
    try {
      const report = await this.pc.getStats();
      const byId = new Map();
      report.forEach((s) => byId.set(s.id, s));
      // The pair in use: named by the transport (Chromium, Safari) or
      // marked selected (Firefox).
      let pair = null;
      report.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
      });
      if (!pair) {
        report.forEach((s) => {
          if (s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded'))) pair = s;
        });
      }
      const local = pair && byId.get(pair.localCandidateId);
      if (local && local.candidateType === 'relay') how = 'relay';
      else if (local && local.protocol === 'tcp') how = 'tcp';
    } catch {
      // Without stats the connection still worked; UDP is the usual way.
    }
    this.settle(true, how);
  }

  fail(why) {
    this.settle(false, why);
  }

  settle(ok, value) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.signal.send('probe_end');
    if (this.pc) this.pc.close();
    if (ok) this.resolve(value);
    else this.reject(new Error(value));
  }
}
