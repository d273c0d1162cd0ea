// Bilateral stimulation (EMDR) on the client's page: a dot that moves left
// and right across the stage, with optional alternating tones. The server
// sends only settings; the motion comes from this page's own clock
// (requestAnimationFrame), so network delay never makes the dot jitter, and
// a new speed changes how fast the phase advances, never where the dot is.
// The client may hide it for themselves: that stays on this page.

// Phase: 0 at the left edge, 1 at the right, 2 back at the left. A cosine
// eases the dot at each edge, the way a therapist's hand slows to turn.
const position = (phase) => (1 - Math.cos(Math.PI * phase)) / 2;
// A slow device draws few frames: the dot still keeps its speed. Only a
// longer gap (a hidden tab, a sleeping phone) is cut short, so the dot
// resumes from where it was instead of leaping.
const MAX_STEP = 0.5;

export class BilateralDot {
  // stage: the element the dot crosses; notice(text): the room's status
  // line; sinkId(): the speaker chosen before joining, for the tones.
  constructor(stage, notice, sinkId) {
    this.stage = stage;
    this.notice = notice;
    this.sinkId = sinkId;
    this.layer = document.createElement('div');
    this.layer.className = 'bilateral';
    this.layer.hidden = true;
    this.dot = document.createElement('div');
    this.dot.id = 'bilateral-dot';
    this.dot.className = 'bilateral-dot';
    // Motion for the eyes only; the status line says when it starts and stops.
    this.dot.setAttribute('aria-hidden', 'true');
    this.layer.append(this.dot);
    this.toggle = document.createElement('button');
    this.toggle.type = 'button';
    this.toggle.id = 'bilateral-hide';
    this.toggle.className = 'bilateral-hide';
    this.toggle.hidden = true;
    this.toggle.addEventListener('click', () => this.setHidden(!this.hiddenByMe));
    stage.append(this.layer, this.toggle);
    this.settings = null;
    this.hiddenByMe = false;
    this.phase = 0;
    this.last = null;
    this.frame = 0;
    this.audio = null;
    this.setHidden(false);
  }

  // A `bilateral` message from the server: start, change or pause.
  apply(msg) {
    const first = !this.settings;
    this.settings = msg;
    this.dot.style.width = `${msg.size}px`;
    this.dot.style.height = `${msg.size}px`;
    this.dot.style.background = msg.color;
    this.toggle.hidden = false;
    this.layer.hidden = this.hiddenByMe;
    this.dot.classList.toggle('paused', !msg.running);
    if (first) {
      this.phase = 0;
      this.notice(this.hiddenByMe
        ? 'Your therapist started the moving dot. It is hidden on your screen.'
        : 'Your therapist started the moving dot. You can hide it with the button at the top left.');
    }
    if (!this.frame) this.frame = requestAnimationFrame((t) => this.tick(t));
  }

  stop() {
    if (!this.settings) return;
    this.settings = null;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.last = null;
    this.layer.hidden = true;
    this.toggle.hidden = true;
    this.notice('The moving dot stopped.');
  }

  setHidden(hidden) {
    this.hiddenByMe = hidden;
    this.layer.hidden = hidden || !this.settings;
    this.toggle.textContent = hidden ? 'Show the moving dot' : 'Hide the moving dot';
    this.toggle.setAttribute('aria-pressed', String(hidden));
  }

  tick(now) {
    const s = this.settings;
    if (!s) return;
    const step = this.last === null ? 0 : Math.min((now - this.last) / 1000, MAX_STEP);
    this.last = now;
    if (s.running) {
      const edge = Math.floor(this.phase);
      this.phase += step * s.speed;
      const reached = Math.floor(this.phase);
      // Each edge reached: a tone on that side (odd phases are the right).
      if (reached !== edge && s.tones && !this.hiddenByMe) this.tone(reached % 2 === 1 ? 1 : -1);
    }
    const room = Math.max(0, this.layer.clientWidth - s.size);
    this.dot.style.transform = `translate(${(position(this.phase) * room).toFixed(1)}px, -50%)`;
    this.frame = requestAnimationFrame((t) => this.tick(t));
  }

  // A short soft tone panned fully to one ear. The client's Join click
  // already counts as the gesture that lets the page play sound.
  tone(pan) {
    try {
      if (!this.audio) {
        this.audio = new AudioContext();
        const sink = this.sinkId();
        if (sink && this.audio.setSinkId) this.audio.setSinkId(sink).catch(() => {});
      }
      if (this.audio.state === 'suspended') this.audio.resume().catch(() => {});
      const a = this.audio;
      const now = a.currentTime;
      const osc = a.createOscillator();
      const gain = a.createGain();
      const panner = new StereoPannerNode(a, { pan });
      osc.type = 'sine';
      osc.frequency.value = 523;
      gain.gain.setValueAtTime(0, now);
      gain.gain.linearRampToValueAtTime(0.12, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.25);
      osc.connect(gain).connect(panner).connect(a.destination);
      osc.start(now);
      osc.stop(now + 0.3);
    } catch {
      // No Web Audio here: the dot goes on without tones.
    }
  }
}
