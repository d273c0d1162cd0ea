// The signaling socket (see docs/signaling.md) and the media connection to
// the server. The server is the polite peer; the browser is impolite: an
// offer from the server that arrives while ours is outstanding is ignored
// (the server re-offers).

const FINAL = new Set(['denied', 'removed', 'ended', 'locked', 'replaced']);

export class Signal extends EventTarget {
  // `path`: the socket path on the server this page came from; `node`: the
  // full socket URL of the node the room lives on, when that is another.
  constructor(path, node) {
    super();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.home = `${scheme}//${location.host}${path}`;
    // Where the next connection goes once (the room's node, or after
    // `moved`); any later one starts from `home` again, so a node that died
    // sends nobody astray.
    this.next = node || null;
    this.socket = null;
    this.hello = null;
    this.closedForGood = false;
    this.retryUntil = 0;
  }

  open() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.next || this.home);
      this.next = null;
      this.socket = socket;
      socket.addEventListener('open', () => {
        this.retryUntil = 0;
        if (this.hello) this.send('hello', this.hello);
        this.dispatchEvent(new Event('open'));
        resolve();
      });
      socket.addEventListener('message', (event) => {
        let msg;
        try {
          msg = JSON.parse(event.data);
        } catch {
          return;
        }
        if (FINAL.has(msg.type)) this.closedForGood = true;
        // The room lives on another node: the socket closes, and the
        // reconnect goes there.
        if (msg.type === 'moved') {
          this.next = msg.url;
          return;
        }
        this.dispatchEvent(new CustomEvent('message', { detail: msg }));
      });
      socket.addEventListener('close', () => {
        if (this.socket !== socket) return;
        if (this.closedForGood) return;
        this.dispatchEvent(new Event('lost'));
        this.reconnect();
      });
      socket.addEventListener('error', () => reject(new Error('socket error')));
    });
  }

  // A dropped socket comes back for up to 60 s without waiting for admission.
  reconnect() {
    if (!this.retryUntil) this.retryUntil = Date.now() + 60000;
    if (Date.now() > this.retryUntil) {
      this.dispatchEvent(new CustomEvent('message', { detail: { type: 'ended', message: 'The connection to the session was lost. Please reload the page to try again.' } }));
      return;
    }
    setTimeout(() => this.open().catch(() => {}), 1500);
  }

  join(hello) {
    this.hello = hello;
    this.send('hello', hello);
  }

  send(type, fields = {}) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ v: 1, type, ...fields }));
    }
  }

  close() {
    this.closedForGood = true;
    if (this.socket) this.socket.close();
  }

  // Closes the socket as a network drop would: the reconnect follows.
  drop() {
    if (this.socket && !this.closedForGood) this.socket.close();
  }
}

// Camera in three simulcast layers, low to high, as the media server expects.
const SIMULCAST = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 400000 },
  { rid: 'f', maxBitrate: 1200000 },
];

export class Media extends EventTarget {
  constructor(signal, stream, iceServers) {
    super();
    this.signal = signal;
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.making = false;
    this.again = false;
    this.screen = null;
    this.closed = false;
    this.pc.addEventListener('track', (event) => {
      const stream = event.streams[0];
      if (stream) this.dispatchEvent(new CustomEvent('stream', { detail: stream }));
    });
    this.pc.addEventListener('iceconnectionstatechange', () => {
      const state = this.pc.iceConnectionState;
      this.dispatchEvent(new CustomEvent('state', { detail: state }));
      if (state === 'failed') this.restartIce();
    });
    const audio = stream.getAudioTracks()[0];
    const video = stream.getVideoTracks()[0];
    this.audio = audio ? this.pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] }) : null;
    if (video) {
      try {
        this.video = this.pc.addTransceiver(video, { direction: 'sendonly', streams: [stream], sendEncodings: SIMULCAST });
      } catch {
        // A browser without simulcast sends one layer.
        this.video = this.pc.addTransceiver(video, { direction: 'sendonly', streams: [stream] });
      }
    }
  }

  start() {
    return this.negotiate({}, true);
  }

  async negotiate(options = {}, fresh = false) {
    if (this.closed) return;
    if (this.making) {
      this.again = true;
      return;
    }
    this.making = true;
    try {
      const offer = await this.pc.createOffer(options);
      await this.pc.setLocalDescription(offer);
      this.signal.send('media_offer', { sdp: this.pc.localDescription.sdp, fresh });
    } catch (err) {
      this.making = false;
      this.dispatchEvent(new CustomEvent('problem', { detail: String(err) }));
    }
  }

  async onAnswer(sdp) {
    if (this.closed || this.pc.signalingState !== 'have-local-offer') return;
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this.making = false;
    if (this.again) {
      this.again = false;
      this.negotiate();
    }
  }

  async onOffer(sdp) {
    if (this.closed) return;
    if (this.making || this.pc.signalingState !== 'stable') return; // impolite: ours wins
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.signal.send('media_answer', { sdp: this.pc.localDescription.sdp });
  }

  // New ICE credentials on the same connection (docs/signaling.md): the
  // server keeps this participant and its tracks.
  restartIce() {
    if (this.pc.restartIce) this.pc.restartIce();
    return this.negotiate({ iceRestart: true });
  }

  // The offer was refused (e.g. bad SDP): allow the next one.
  onRefused() {
    if (this.pc.signalingState === 'have-local-offer') {
      this.pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
    }
    this.making = false;
  }

  // Audio only: the camera's encodings stop, so nothing is sent (not even
  // the black frames of a disabled track); back on, they start again.
  async pauseCamera(paused) {
    if (!this.video || this.cameraPaused === paused) return;
    const params = this.video.sender.getParameters();
    if (!params.encodings || !params.encodings.length) return;
    params.encodings.forEach((e) => { e.active = !paused; });
    try {
      await this.video.sender.setParameters(params);
      this.cameraPaused = paused;
    } catch {
      // Not negotiated yet: the next refresh tries again.
    }
  }

  async replaceCamera(stream) {
    const audio = stream.getAudioTracks()[0];
    const video = stream.getVideoTracks()[0];
    if (this.audio && audio) await this.audio.sender.replaceTrack(audio);
    if (this.video && video) await this.video.sender.replaceTrack(video);
  }

  async shareScreen(track) {
    if (this.screen) {
      await this.screen.sender.replaceTrack(track);
      this.screen.direction = 'sendonly';
    } else {
      this.screen = this.pc.addTransceiver(track, { direction: 'sendonly' });
    }
    await this.negotiate();
  }

  async stopScreen() {
    if (!this.screen) return;
    await this.screen.sender.replaceTrack(null);
    this.screen.direction = 'inactive';
    await this.negotiate();
  }

  close() {
    this.closed = true;
    this.pc.close();
  }
}
