// The video room's coordinator: the waiting room, and in the room the
// messages from the server and the media connection. The parts: the
// pre-call check (room-precall.js), one's own tracks and hand
// (room-self.js), tiles (room-tiles.js, placed by room-layout.js), buttons
// (room-toolbar.js), chat, participants and waiting room (room-panels.js),
// connection quality (room-stats.js).
// Plain DOM; every text goes in with textContent.
import { Devices } from './room-devices.js';
import { Signal, Media } from './room-signal.js';
import { startPrecall, joinRefused } from './room-precall.js';
import { Tiles } from './room-tiles.js';
import { Toolbar } from './room-toolbar.js';
import { Panels, unlockChime } from './room-panels.js';
import { Stats } from './room-stats.js';
import { OwnMedia } from './room-self.js';
import { offerSurvey } from './room-survey.js';
import { AudioOnlyOffer } from './room-audio-only.js';
import { SessionClock } from './room-clock.js';
import { SoundOptions } from './room-sound.js';
import { offerPrivacyCheck, headphonesInUse } from './room-privacy.js';
// Bilateral stimulation: the therapist's panel, the client's moving dot.
import { BilateralPanel } from './room-bilateral-panel.js';
import { BilateralDot } from './room-bilateral.js';

const app = document.getElementById('room-app');
const $ = (id) => document.getElementById(id);
const role = app.dataset.role;
const isTherapist = role === 'therapist';
const group = app.dataset.kind === 'group';

const devices = new Devices({
  preview: $('preview'), status: $('preview-status'), camera: $('camera-select'), mic: $('mic-select'),
  speaker: $('speaker-select'), speakerTest: $('speaker-test'), meter: $('mic-level'),
  background: $('background-select'), backgroundStatus: $('background-status'),
});
const signal = new Signal(app.dataset.ws, app.dataset.wsNode);

let me = null;
let media = null;
let iceServers = [];
// The server takes our media connection while we wait (held: nothing is
// forwarded either way until admission), so admission needs no setup.
let mediaWhileWaiting = false;
let roster = [];
let locked = false;
let speakerView = false;
const streams = new Map(); // MediaStream.id -> MediaStream

// For tests and support: the live connection and the message types seen, no
// personal data. restartIce and dropSignal run the same recovery paths as a
// failed ICE connection and a lost socket, so tests can check them.
const trace = [];
window.regroup = {
  get pc() { return media ? media.pc : null; },
  // This page's media connection at the server (the engine's participant).
  get stream() {
    const mine = roster.find((p) => p.id === me);
    return mine ? mine.stream : null;
  },
  trace,
  restartIce() { if (media) media.restartIce(); },
  dropSignal() { signal.drop(); },
};

// What the tiles and panels share.
const ctx = {
  container: $('tiles'),
  isTherapist,
  group,
  send: (type, fields) => signal.send(type, fields),
  sinkId: () => devices.sinkId,
  myName: () => {
    const mine = roster.find((p) => p.id === me);
    return mine ? mine.name : 'You';
  },
  pinned: () => tiles.pinned,
  notice: (text) => status(text),
  onChange: () => tiles.relayout(),
};
const tiles = new Tiles(ctx);
const panels = new Panels(ctx);
const own = new OwnMedia({ devices, signal, group, isTherapist, onChange: () => refresh() });
// Session clock (room-clock.js).
const clock = new SessionClock({ isTherapist, send: ctx.send });
const audioOffer = new AudioOnlyOffer(() => own.setAudioOnly(true));
const stats = new Stats(() => (media ? media.pc : null), (s) => {
  tiles.applyStats(s);
  audioOffer.watch(s, movingPictures(), own.audioOnly);
});
// ---- bilateral stimulation ----
const bilateral = isTherapist ? new BilateralPanel(ctx) : new BilateralDot($('stage'), (t) => status(t), () => devices.sinkId);
if (isTherapist) panels.add('bilateral', $('toggle-bilateral'), $('bilateral-panel'));
// ---- end of bilateral stimulation
const toolbar = new Toolbar({
  mic: () => own.toggleMic(),
  cam: () => own.toggleCam(),
  screen: () => own.toggleScreen(media),
  hand: () => own.toggleHand(),
  audioOnly: () => own.setAudioOnly(!own.audioOnly),
  background: async () => {
    const wanted = devices.background === 'none' ? 'blur' : 'none';
    await devices.setBackground(wanted);
    // Too slow, or not possible here: the pre-call page's words, shown here.
    if (devices.background !== wanted) status($('background-status').textContent);
    refresh();
  },
  layout: () => {
    speakerView = !speakerView;
    tiles.setSpeakerView(speakerView);
    refresh();
  },
  lock: () => signal.send('lock', { locked: !locked }),
  end: () => signal.send('end'),
  leave: () => {
    signal.send('leave');
    finish('You left the session', 'You can close this page.');
  },
});

function show(section) {
  for (const id of ['precall', 'waiting', 'room', 'closed']) $(id).hidden = id !== section;
  // In the room the stage takes the whole window: no site header or footer.
  document.body.classList.toggle('in-room', section === 'room');
  if (section === 'room') stats.start();
  else stats.stop();
}

let statusTimer = null;
function status(text) {
  $('room-status').textContent = text || '';
  clearTimeout(statusTimer);
  // News fades after a while; a lasting problem is said again when it recurs.
  if (text) statusTimer = setTimeout(() => { $('room-status').textContent = ''; }, 8000);
}

// The overlay while the connection (socket or media) finds its way back.
const DISCONNECTED_GRACE_MS = 2000;
function reconnecting(on) {
  $('reconnecting').hidden = !on;
}

// ---- pre-call ----
// The Join click is also the gesture that lets the page play the
// waiting-room chime.
const precall = startPrecall(signal, devices, () => { if (isTherapist) unlockChime(); });

// ---- privacy check and sound switches (pre-call; sound also in the room) ----
if (!isTherapist) offerPrivacyCheck();
const sound = new SoundOptions(devices);

// Headphones, as far as the browser names them, for the therapist's eyes:
// told on entering the room and whenever the devices in use change.
async function tellHeadphones() {
  if (isTherapist || $('room').hidden) return;
  const on = (await headphonesInUse(devices)) === true;
  if (own.headphones === on) return;
  own.headphones = on;
  own.send();
}
document.addEventListener('regroup:stream', () => tellHeadphones());
document.addEventListener('regroup:sink', () => tellHeadphones());
if (navigator.mediaDevices) navigator.mediaDevices.addEventListener('devicechange', () => tellHeadphones());

// Space on the stage itself (not on a button in it) mutes and unmutes.
$('stage').addEventListener('keydown', (event) => {
  if (event.target === $('stage') && (event.key === ' ' || event.code === 'Space')) {
    event.preventDefault();
    const mic = $('toggle-mic');
    if (!mic.disabled) mic.click();
  }
});

// ---- messages ----
signal.addEventListener('lost', () => {
  if (!$('room').hidden) reconnecting(true);
  else status('Connection lost. Reconnecting…');
});
// One message at a time: SDP steps must not interleave.
let queue = Promise.resolve();
signal.addEventListener('message', (event) => {
  queue = queue.then(() => handle(event.detail)).catch((err) => console.warn(err));
});

async function handle(msg) {
  trace.push(msg.type === 'error' ? `error:${msg.code}` : msg.type);
  const probe = precall.probe();
  if (probe && await probe.handle(msg)) return;
  switch (msg.type) {
    case 'welcome':
      me = msg.you;
      // A new socket: the server has forgotten the headphones.
      own.headphones = false;
      iceServers = msg.ice_servers || [];
      mediaWhileWaiting = msg.media_while_waiting === true;
      if (msg.state === 'admitted') await enterRoom(true);
      else if (mediaWhileWaiting) startMedia();
      break;
    case 'waiting':
      $('waiting-text').textContent = msg.message;
      show('waiting');
      break;
    case 'admitted':
      await enterRoom(false);
      break;
    case 'moved_to_waiting':
      stopMedia();
      own.hand = false;
      // A fresh connection, held by the server until the next admission.
      if (mediaWhileWaiting) startMedia();
      $('waiting-text').textContent = msg.message;
      show('waiting');
      break;
    case 'denied':
    case 'removed':
    case 'ended':
    case 'locked':
      finish(msg.type === 'ended' ? 'The session has ended' : 'You are not in the session', msg.message, msg.survey);
      break;
    case 'replaced':
      finish('Open in another window', 'This session is now open in another window or device.');
      break;
    case 'roster':
      announceHands(msg.people);
      roster = msg.people;
      locked = msg.locked;
      own.fromRoster(roster.find((p) => p.id === me));
      render();
      break;
    case 'waiting_list':
      panels.renderWaiting(msg.people);
      break;
    case 'media_answer':
      if (media) {
        try {
          await media.onAnswer(msg.sdp);
        } catch {
          recover();
        }
      }
      break;
    case 'media_offer':
      if (media) {
        try {
          await media.onOffer(msg.sdp);
        } catch {
          recover();
        }
      }
      break;
    case 'media_lost':
      if (media) startMedia();
      break;
    case 'controls': {
      const news = own.setControls(msg);
      if (news) status(news);
      break;
    }
    case 'downlink':
      audioOffer.downlink(msg.low, own.audioOnly);
      break;
    case 'speaker':
      tiles.setSpeaker(msg.id);
      break;
    // ---- session clock ----
    case 'clock':
      clock.update(msg);
      break;
    case 'clock_hidden':
      clock.hide();
      break;
    // ---- end of session clock ----
    case 'bilateral':
      bilateral.apply(msg);
      break;
    case 'bilateral_stop':
      bilateral.stop();
      break;
    case 'chat':
      panels.addChat(msg.name, msg.text, msg.from === me, msg.role);
      break;
    case 'error':
      if (msg.code === 'confidentiality_required' || msg.code === 'bad_name') {
        joinRefused(msg.message);
      } else if (msg.code === 'bad_sdp' || msg.code === 'media_unavailable') {
        recover();
      } else if (clock.answers(msg)) {
        // A refused "Extend": said beside the clock (room-clock.js).
      } else if (msg.code === 'room_full') {
        if (media) media.onRefused();
        status(msg.message);
      } else {
        status(msg.message);
      }
      break;
    default:
      break;
  }
}

// The camera tracks of the others whose pictures should be moving: what
// a stall is measured against.
function movingPictures() {
  const ids = [];
  for (const p of roster) {
    if (p.id === me || !p.connected || !p.video || p.host_camera_off || p.audio_only || !p.stream) continue;
    const stream = streams.get(p.stream);
    const cam = stream ? stream.getVideoTracks()[0] : null;
    if (cam) ids.push(cam.id);
  }
  return ids;
}

// A hand newly raised is news to the others (the therapist above all).
function announceHands(people) {
  if (!group) return;
  for (const p of people) {
    const before = roster.find((x) => x.id === p.id);
    if (p.hand && p.id !== me && (!before || !before.hand)) status(`${p.name} raised their hand.`);
  }
}

function render() {
  tiles.render({ roster, me, streams, selfStream: devices.stream, micOn: own.micOn, camOn: own.camOn, hand: own.hand });
  panels.renderPeople(roster, me);
  if (isTherapist) bilateral.setRoster(roster);
  own.apply();
}

// `fresh`: a new connection even if one is open (a returning socket).
// Otherwise the one made while waiting goes on: the server now forwards.
async function enterRoom(fresh) {
  show('room');
  reconnecting(false);
  status('');
  devices.stopMeter();
  if (fresh || !media) startMedia();
  own.resendAudioOnly();
  render();
  sound.moveTo($('settings-sound'));
  tellHeadphones();
  $('stage').focus({ preventScroll: true });
}

function startMedia() {
  stopMedia();
  media = new Media(signal, devices.stream, iceServers);
  media.addEventListener('stream', (event) => {
    const stream = event.detail;
    streams.set(stream.id, stream);
    stream.addEventListener('removetrack', () => render());
    stream.addEventListener('addtrack', () => {
      tiles.warm(stream);
      render();
    });
    tiles.warm(stream);
    render();
  });
  const mine = media;
  media.addEventListener('state', (event) => {
    const state = event.detail;
    if (state === 'failed') reconnecting(!$('room').hidden);
    if (state === 'connected' || state === 'completed') reconnecting(false);
    // 'disconnected' often passes by itself within a second or two (a busy
    // device or network missed a few checks). The overlay covers the tiles
    // and their controls, so it waits until the trouble lasts.
    if (state === 'disconnected') {
      setTimeout(() => {
        if (media === mine && mine.pc.iceConnectionState === 'disconnected') reconnecting(!$('room').hidden);
      }, DISCONNECTED_GRACE_MS);
    }
  });
  media.start();
  own.apply();
}

// When negotiation went wrong (an answer refused, an offer that does not
// apply), a fresh connection is the sure way back; at most a few a minute.
let recoveries = [];
function recover() {
  if (!media) return;
  const now = Date.now();
  recoveries = recoveries.filter((t) => now - t < 60000);
  if (recoveries.length >= 5) {
    reconnecting(false);
    status('Video could not be set up. Please reload the page.');
    return;
  }
  recoveries.push(now);
  if (!$('room').hidden) reconnecting(true);
  setTimeout(() => { if (media) startMedia(); }, 500 * recoveries.length);
}

function stopMedia() {
  if (media) media.close();
  media = null;
  streams.clear();
}

function finish(title, text, survey) {
  bilateral.stop();
  stopMedia();
  signal.close();
  devices.stop();
  reconnecting(false);
  $('closed-title').textContent = title;
  $('closed-text').textContent = text;
  show('closed');
  offerSurvey(survey);
}

document.addEventListener('regroup:stream', (event) => {
  if (media) media.replaceCamera(event.detail);
  tiles.setSelfStream(event.detail);
});
document.addEventListener('regroup:sink', (event) => tiles.setSink(event.detail));

// The toolbar and the self-view follow one's own switches and the room's lock.
function refresh() {
  toolbar.update({
    micOn: own.micOn, camOn: own.camOn, controls: own.controls, sharing: own.sharing, hand: own.hand,
    background: devices.background, locked, speakerView, canShare: own.canShare(), audioOnly: own.audioOnly,
  });
  tiles.markSelf(own);
  tiles.setAudioOnly(own.audioOnly);
  if (own.audioOnly) audioOffer.hide();
  if (media) media.pauseCamera(own.audioOnly);
}
