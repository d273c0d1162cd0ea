// The person's own microphone, camera, screen and raised hand: the switches
// on their tracks, what the therapist allows (`controls`), and the
// `self_state` / `screen` messages that tell the room.

export class OwnMedia {
  // opts: { devices, signal, group, isTherapist, onChange() }
  constructor(opts) {
    this.opts = opts;
    this.micOn = true;
    this.camOn = true;
    this.hand = false;
    // Audio only: no camera sent, no pictures received (the server tells
    // the engine). `camBefore`: the camera as it was, for the way back.
    this.audioOnly = false;
    this.camBefore = true;
    // Whether this client's browser names headphones in use, as last told
    // to the server (which forgets it with each new socket).
    this.headphones = false;
    this.sharing = null; // the screen track while sharing
    this.controls = { host_muted: false, host_camera_off: false, may_unmute: true, may_share: opts.isTherapist };
  }

  // Applies the switches to the tracks and tells the page to redraw.
  apply() {
    const stream = this.opts.devices.stream;
    if (!stream) return;
    stream.getAudioTracks().forEach((t) => { t.enabled = this.micOn; });
    stream.getVideoTracks().forEach((t) => { t.enabled = this.camOn; });
    this.opts.onChange();
  }

  canShare() {
    return Boolean(this.controls.may_share && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  }

  send() {
    const fields = { audio: this.micOn, video: this.camOn };
    if (this.opts.group) fields.hand = this.hand;
    if (!this.opts.isTherapist) fields.headphones = this.headphones;
    this.opts.signal.send('self_state', fields);
  }

  toggleMic() {
    this.micOn = !this.micOn;
    this.apply();
    this.send();
  }

  toggleCam() {
    // Starting the camera is a way out of audio only.
    if (this.audioOnly && !this.camOn) {
      this.camBefore = true;
      this.setAudioOnly(false);
      return;
    }
    this.camOn = !this.camOn;
    this.apply();
    this.send();
  }

  setAudioOnly(on) {
    if (on === this.audioOnly) return;
    this.audioOnly = on;
    if (on) {
      this.camBefore = this.camOn;
      this.camOn = false;
    } else if (this.camBefore && !(this.controls.host_camera_off && !this.controls.may_unmute)) {
      this.camOn = true;
    }
    this.apply();
    this.send();
    this.opts.signal.send('audio_only', { on });
  }

  // After (re)joining: the server starts every new page with pictures.
  resendAudioOnly() {
    if (this.audioOnly) this.opts.signal.send('audio_only', { on: true });
  }

  toggleHand() {
    this.hand = !this.hand;
    this.apply();
    this.send();
  }

  // The server's word on one's own hand (it lowers it on a move to waiting).
  fromRoster(entry) {
    if (entry) this.hand = Boolean(entry.hand);
  }

  // The therapist's controls; returns what to tell the person, if anything.
  setControls(controls) {
    this.controls = controls;
    if (controls.host_muted) this.micOn = false;
    if (controls.host_camera_off) this.camOn = false;
    this.apply();
    if (!controls.host_muted && !controls.host_camera_off) return null;
    return controls.may_unmute ? 'Your therapist allows you to turn your microphone and camera back on.'
      : 'Your therapist turned off your microphone or camera.';
  }

  async toggleScreen(media) {
    if (!media) return;
    const { signal } = this.opts;
    if (this.sharing) {
      this.sharing.stop();
      this.sharing = null;
      await media.stopScreen();
      signal.send('screen', { on: false });
    } else {
      try {
        const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
        this.sharing = display.getVideoTracks()[0];
        // The browser's own "Stop sharing" bar ends the track.
        this.sharing.addEventListener('ended', () => { if (this.sharing) this.toggleScreen(media); });
        await media.shareScreen(this.sharing);
        signal.send('screen', { on: true });
      } catch {
        this.sharing = null;
      }
    }
    this.apply();
  }
}
