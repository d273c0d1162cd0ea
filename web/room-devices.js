// Pre-call check: camera preview, device pickers, background, microphone
// level, sound processing, speaker test. The last chosen devices,
// background and sound processing are remembered in localStorage (on this
// device only) and chosen again next time; other choices made on this
// device (room-privacy.js) keep theirs in the same place. `stream` is what
// others get: the camera as it is, or the picture with its background
// changed (room-background.js).

import { BackgroundEffect, TooSlow, Unsupported } from './room-background.js';

const BACKGROUND_WORDS = {
  none: '',
  blur: 'Your background is blurred on this device before the video leaves it.',
  plain: 'Your background is a plain colour, made on this device before the video leaves it.',
};

const KEY = 'regroup.devices';

// The browser's own sound processing, each on unless turned off
// (room-sound.js offers the switches).
export const SOUND_KEYS = ['noiseSuppression', 'echoCancellation', 'autoGainControl'];

function rememberedSound() {
  const saved = remembered().sound || {};
  return Object.fromEntries(SOUND_KEYS.map((k) => [k, saved[k] !== false]));
}

export function remembered() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || '{}');
  } catch {
    return {};
  }
}

export function remember(choice) {
  try {
    localStorage.setItem(KEY, JSON.stringify({ ...remembered(), ...choice }));
  } catch {
    // Private browsing may refuse storage; the default device is fine then.
  }
}

export class Devices {
  constructor(els) {
    this.els = els;
    this.stream = null;
    this.camera = null; // the devices' own stream, before any background
    this.effect = null;
    this.background = remembered().background || 'none';
    this.audioContext = null;
    this.meterTimer = null;
    this.sinkId = remembered().speaker || '';
    this.sound = rememberedSound();
    // Camera and background changes run one after another, each on what
    // the last one left: a quick second choice must not race the first.
    this.pending = Promise.resolve();
  }

  serially(work) {
    const run = this.pending.then(work, work);
    this.pending = run.catch(() => {});
    return run;
  }

  async start() {
    const saved = remembered();
    if (this.els.background) {
      this.els.background.value = this.background;
      this.els.background.addEventListener('change', () => this.changeBackground());
    }
    await this.acquire(saved.camera, saved.mic);
    await this.fillPickers();
    this.els.camera.addEventListener('change', () => this.change());
    this.els.mic.addEventListener('change', () => this.change());
    // Firefox has setSinkId but lists no outputs until one is chosen with
    // its own prompt, so an empty list means: no picker here.
    const canPickSpeaker = 'setSinkId' in HTMLMediaElement.prototype && this.els.speaker.options.length > 0;
    if (canPickSpeaker) {
      this.els.speaker.addEventListener('change', () => {
        this.sinkId = this.els.speaker.value;
        remember({ speaker: this.sinkId });
        document.dispatchEvent(new CustomEvent('regroup:sink', { detail: this.sinkId }));
      });
    } else {
      // Safari, and Firefox until a page asks, play through the system's default output.
      this.els.speaker.closest('.field').querySelector('label').textContent = 'Speaker (your system default)';
      this.els.speaker.hidden = true;
    }
    this.els.speakerTest.addEventListener('click', () => this.testSound());
    return this.stream;
  }

  acquire(cameraId, micId) {
    return this.serially(() => this.open(cameraId, micId));
  }

  async open(cameraId, micId) {
    const video = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };
    if (cameraId) video.deviceId = { ideal: cameraId };
    const audio = { ...this.sound };
    if (micId) audio.deviceId = { ideal: micId };
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video, audio });
    } catch (err) {
      // Maybe no camera: try the microphone alone.
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio });
        this.els.status.textContent = 'No camera found: others will hear you but not see you.';
      } catch {
        this.els.status.textContent = 'Your browser did not allow the camera and microphone. Allow them in the address bar, then reload the page.';
        throw err;
      }
    }
    if (stream.getVideoTracks().length) this.els.status.textContent = 'This is how others will see you.';
    const old = { camera: this.camera, effect: this.effect };
    this.camera = stream;
    this.effect = null;
    this.publish(await this.withBackground(stream));
    if (old.effect) old.effect.stop();
    if (old.camera) old.camera.getTracks().forEach((t) => t.stop());
    return this.stream;
  }

  // The camera's stream with the chosen background, or as it is when none
  // is chosen or this device cannot make one (and then says why).
  async withBackground(camera) {
    const track = camera.getVideoTracks()[0];
    const words = this.els.backgroundStatus;
    if (this.background === 'none' || !track) {
      if (words) words.textContent = BACKGROUND_WORDS.none;
      return camera;
    }
    if (words) words.textContent = 'Preparing your background…';
    try {
      this.effect = await BackgroundEffect.start(track, this.background);
    } catch (err) {
      // For whoever looks into a slow device: how slow it was.
      if (words && err instanceof TooSlow) words.dataset.ms = Math.round(err.ms);
      if (words) {
        if (err instanceof TooSlow) {
          words.textContent = 'This device is too slow to change the background smoothly, so your video goes without it.';
        } else if (err instanceof Unsupported) {
          words.textContent = 'This browser cannot change the background (it has no graphics acceleration here), so your video goes without it.';
        } else {
          words.textContent = 'This browser could not change the background, so your video goes without it.';
        }
      }
      // What is sent now; the remembered choice stays for the next visit.
      this.background = 'none';
      if (this.els.background) this.els.background.value = 'none';
      return camera;
    }
    if (words) {
      words.dataset.ms = Math.round(this.effect.medianMs);
      words.textContent = BACKGROUND_WORDS[this.background];
    }
    return new MediaStream([this.effect.track, ...camera.getAudioTracks()]);
  }

  changeBackground() {
    return this.setBackground(this.els.background.value);
  }

  // 'none', 'blur' or 'plain', from the pre-call list or the room's button.
  setBackground(mode) {
    this.background = mode;
    if (this.els.background) this.els.background.value = mode;
    remember({ background: mode });
    return this.serially(() => this.applyBackground());
  }

  async applyBackground() {
    // Before the camera opens, opening it applies the choice.
    if (!this.camera) return;
    const old = this.effect;
    this.effect = null;
    this.publish(await this.withBackground(this.camera));
    if (old) old.stop();
  }

  // Sound processing on or off, e.g. { noiseSuppression: false }, on the
  // live microphone: the camera and the call go on.
  setSound(choice) {
    this.sound = { ...this.sound, ...choice };
    remember({ sound: this.sound });
    return this.serially(() => this.applySound());
  }

  async applySound() {
    const track = this.camera && this.camera.getAudioTracks()[0];
    if (!track || track.readyState === 'ended') return;
    const wanted = this.sound;
    // A setting the browser does not report cannot be checked: taken as done.
    const done = () => {
      const now = track.getSettings();
      return SOUND_KEYS.every((k) => !(k in now) || now[k] === wanted[k]);
    };
    try {
      await track.applyConstraints({ ...track.getConstraints(), ...wanted });
    } catch {
      // Refused: opening the microphone again below is the other way.
    }
    if (done()) return;
    // Chromium says yes to applyConstraints and keeps its processing, and
    // opens a microphone that is already open with the first one's. So the
    // microphone closes and opens again: a moment of silence.
    const deviceId = track.getSettings().deviceId;
    track.stop();
    let fresh;
    try {
      fresh = await navigator.mediaDevices.getUserMedia({ audio: { ...wanted, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) } });
    } catch {
      // That microphone went away meanwhile: the default one, then. If this
      // fails too, whoever asked says so (room-sound.js).
      fresh = await navigator.mediaDevices.getUserMedia({ audio: { ...wanted } });
    }
    const mic = fresh.getAudioTracks()[0];
    this.camera = new MediaStream([...this.camera.getVideoTracks(), mic]);
    this.publish(new MediaStream([...this.stream.getVideoTracks(), mic]));
  }

  publish(stream) {
    // Keep each track's on/off: the camera's toggle must survive a change.
    if (this.stream) {
      const was = (kind) => this.stream.getTracks().find((t) => t.kind === kind);
      stream.getTracks().forEach((t) => {
        const before = was(t.kind);
        if (before) t.enabled = before.enabled;
      });
    }
    this.stream = stream;
    this.els.preview.srcObject = stream;
    this.startMeter(stream);
    document.dispatchEvent(new CustomEvent('regroup:stream', { detail: stream }));
  }

  // Everything off: camera, microphone, background, meter.
  stop() {
    if (this.effect) this.effect.stop();
    if (this.camera) this.camera.getTracks().forEach((t) => t.stop());
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stopMeter();
  }

  async fillPickers() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const current = (kind) => {
      const track = kind === 'videoinput' ? this.camera.getVideoTracks()[0] : this.camera.getAudioTracks()[0];
      return track ? track.getSettings().deviceId : '';
    };
    const fill = (select, kind, selected) => {
      select.replaceChildren();
      devices.filter((d) => d.kind === kind).forEach((d, i) => {
        const option = document.createElement('option');
        option.value = d.deviceId;
        option.textContent = d.label || `${kind === 'audiooutput' ? 'Speaker' : kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`;
        option.selected = d.deviceId === selected;
        select.append(option);
      });
    };
    fill(this.els.camera, 'videoinput', current('videoinput'));
    fill(this.els.mic, 'audioinput', current('audioinput'));
    fill(this.els.speaker, 'audiooutput', this.sinkId);
  }

  async change() {
    const camera = this.els.camera.value;
    const mic = this.els.mic.value;
    remember({ camera, mic });
    try {
      await this.acquire(camera, mic);
    } catch {
      // The message is already on the page.
    }
  }

  startMeter(stream) {
    clearInterval(this.meterTimer);
    const track = stream.getAudioTracks()[0];
    if (!track) return;
    try {
      this.audioContext = this.audioContext || new AudioContext();
      const source = this.audioContext.createMediaStreamSource(new MediaStream([track]));
      const analyser = this.audioContext.createAnalyser();
      analyser.fftSize = 512;
      source.connect(analyser);
      const data = new Float32Array(analyser.fftSize);
      this.meterTimer = setInterval(() => {
        analyser.getFloatTimeDomainData(data);
        let sum = 0;
        for (const x of data) sum += x * x;
        this.els.meter.value = Math.min(1, Math.sqrt(sum / data.length) * 4);
      }, 100);
    } catch {
      this.els.meter.hidden = true;
    }
  }

  stopMeter() {
    clearInterval(this.meterTimer);
  }

  async testSound() {
    const context = this.audioContext || new AudioContext();
    this.audioContext = context;
    await context.resume();
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    gain.gain.value = 0.15;
    oscillator.frequency.value = 523;
    const out = context.createMediaStreamDestination();
    oscillator.connect(gain).connect(out);
    const audio = new Audio();
    audio.srcObject = out.stream;
    if (this.sinkId && audio.setSinkId) await audio.setSinkId(this.sinkId).catch(() => {});
    await audio.play().catch(() => {});
    oscillator.start();
    oscillator.stop(context.currentTime + 0.6);
    setTimeout(() => { audio.srcObject = null; }, 800);
  }
}
