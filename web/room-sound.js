// The switches for the browser's own sound processing: noise suppression,
// echo cancellation, automatic volume. One set of switches: on the pre-call
// page under the microphone, and in the room's Settings panel (the same
// elements, moved there on joining). A change applies to the live
// microphone (Devices.setSound) and is remembered with the devices. What
// the browser does not offer, or does not do, is said in words.
import { SOUND_KEYS } from './room-devices.js';

const $ = (id) => document.getElementById(id);

const NAMES = {
  noiseSuppression: 'noise suppression',
  echoCancellation: 'echo cancellation',
  autoGainControl: 'automatic volume',
};
const BOXES = {
  noiseSuppression: 'sound-noise',
  echoCancellation: 'sound-echo',
  autoGainControl: 'sound-gain',
};

// "a", "a and b", "a, b and c".
function list(names) {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export class SoundOptions {
  constructor(devices) {
    this.devices = devices;
    this.failed = false;
    const md = navigator.mediaDevices;
    this.supported = md && md.getSupportedConstraints ? md.getSupportedConstraints() : {};
    for (const key of SOUND_KEYS) {
      const box = $(BOXES[key]);
      if (!box) return;
      box.checked = Boolean(this.supported[key]) && devices.sound[key];
      box.disabled = !this.supported[key];
      box.addEventListener('change', () => this.change(key, box.checked));
    }
    // Every new microphone track (a device or background change too) is
    // described again: what it really does.
    document.addEventListener('regroup:stream', () => this.describe());
    this.describe();
  }

  async change(key, on) {
    const boxes = SOUND_KEYS.map((k) => $(BOXES[k]));
    $('sound-status').textContent = 'Changing your microphone…';
    boxes.forEach((b) => { b.disabled = true; });
    try {
      await this.devices.setSound({ [key]: on });
      this.failed = false;
    } catch {
      this.failed = true;
    }
    boxes.forEach((b, i) => { b.disabled = !this.supported[SOUND_KEYS[i]]; });
    this.describe();
  }

  // Plain words for what differs from the switches; nothing when all is as chosen.
  describe() {
    const status = $('sound-status');
    if (!status) return;
    if (this.failed) {
      status.textContent = 'Your microphone could not be opened again. Reload the page to get it back.';
      return;
    }
    const stream = this.devices.stream;
    const track = stream ? stream.getAudioTracks()[0] : null;
    const now = track ? track.getSettings() : {};
    // Grouped, so three switches the browser ignores make one sentence.
    const missing = [];
    const silent = [];
    const keptOn = [];
    const keptOff = [];
    for (const key of SOUND_KEYS) {
      const name = NAMES[key];
      if (!this.supported[key]) missing.push(name);
      else if (track && !(key in now)) silent.push(name);
      else if (track && now[key] !== this.devices.sound[key]) (now[key] ? keptOn : keptOff).push(name);
    }
    const words = [];
    if (missing.length) words.push(`Your browser does not offer ${list(missing)}.`);
    if (silent.length) words.push(`Your browser does not say whether ${list(silent)} ${silent.length > 1 ? 'are' : 'is'} on.`);
    if (keptOn.length) words.push(`Your browser keeps ${list(keptOn)} on for this microphone.`);
    if (keptOff.length) words.push(`Your browser keeps ${list(keptOff)} off for this microphone.`);
    status.textContent = words.join(' ');
  }

  // Into the room's Settings panel: the same switches, the same state.
  moveTo(place) {
    const options = $('sound-options');
    if (options && place && options.parentElement !== place) place.append(options);
  }
}
