// The video room: pre-call check, waiting room, tiles, therapist controls,
// chat. Plain DOM; every text goes in with textContent.
import { Devices } from './room-devices.js';
import { Signal, Media } from './room-signal.js';
import { Probe } from './room-probe.js';
import { offerSurvey } from './room-survey.js';

const app = document.getElementById('room-app');
const $ = (id) => document.getElementById(id);
const role = app.dataset.role;
const isTherapist = role === 'therapist';

const devices = new Devices({
  preview: $('preview'), status: $('preview-status'), camera: $('camera-select'), mic: $('mic-select'),
  speaker: $('speaker-select'), speakerTest: $('speaker-test'), meter: $('mic-level'),
  background: $('background-select'), backgroundStatus: $('background-status'),
});
const signal = new Signal(app.dataset.ws);

let me = null;
let media = null;
let iceServers = [];
// The server takes our media connection while we wait (held: nothing is
// forwarded either way until admission), so admission needs no setup.
let mediaWhileWaiting = false;
let roster = [];
let locked = false;
let speakerId = null;
let controls = { host_muted: false, host_camera_off: false, may_unmute: true, may_share: isTherapist };
let micOn = true;
let camOn = true;
let sharing = null;
const streams = new Map(); // MediaStream.id -> MediaStream
const tiles = new Map(); // key -> tile element

// For tests and support: the live connection and the message types seen, no
// personal data. restartIce and dropSignal run the same recovery paths as a
// failed ICE connection and a lost socket, so tests can check them.
const trace = [];
window.regroup = {
  get pc() { return media ? media.pc : null; },
  trace,
  restartIce() { if (media) media.restartIce(); },
  dropSignal() { signal.drop(); },
};

function show(section) {
  for (const id of ['precall', 'waiting', 'room', 'closed']) $(id).hidden = id !== section;
}

function status(text) {
  $('room-status').textContent = text || '';
}

// ---- pre-call ----
const devicesReady = devices.start().catch(() => null);
const PROBE_RESULTS = {
  udp: 'Connected to the video server. Video and sound get through your network.',
  tcp: 'Connected to the video server. Your network blocks the fastest route, so video takes a slower one and may be less smooth.',
  relay: 'Connected to the video server through a relay. Video and sound get through your network.',
};
let probe = null;
signal.open().then(() => {
  if (typeof RTCPeerConnection !== 'function') {
    $('connectivity').textContent = 'This browser cannot make video calls. Please use a current Chrome, Edge, Firefox or Safari.';
    return;
  }
  $('connectivity').textContent = 'Checking that video can get through your network…';
  probe = new Probe(signal);
  probe.run().then((how) => {
    $('connectivity').textContent = PROBE_RESULTS[how] || PROBE_RESULTS.udp;
  }, () => {
    $('connectivity').textContent = 'The video server answers, but video could not get through your network. Try another network (a phone hotspot, for example), or ask whoever runs this network to allow video calls.';
  });
}).catch(() => {
  $('connectivity').textContent = 'Could not reach the video server. Check your internet connection and reload the page.';
});

$('join-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = $('join-error');
  const ack = $('ack');
  if (ack && !ack.checked) {
    error.textContent = 'Please tick the box to confirm that you will keep the group confidential.';
    error.hidden = false;
    ack.focus();
    return;
  }
  await devicesReady;
  if (!devices.stream) {
    error.textContent = 'Your camera and microphone are not available. Allow them in the address bar, then reload the page.';
    error.hidden = false;
    return;
  }
  error.hidden = true;
  const name = $('display-name');
  $('join-button').disabled = true;
  signal.join({ display_name: name ? name.value : null, ack_confidential: ack ? ack.checked : false });
});

document.querySelectorAll('.leave-button').forEach((b) => b.addEventListener('click', () => {
  signal.send('leave');
  finish('You left the session', 'You can close this page.');
}));

// ---- messages ----
signal.addEventListener('lost', () => status('Connection lost. Reconnecting…'));
// One message at a time: SDP steps must not interleave.
let queue = Promise.resolve();
signal.addEventListener('message', (event) => {
  queue = queue.then(() => handle(event.detail)).catch((err) => console.warn(err));
});

async function handle(msg) {
  trace.push(msg.type === 'error' ? `error:${msg.code}` : msg.type);
  if (probe && await probe.handle(msg)) return;
  switch (msg.type) {
    case 'welcome':
      me = msg.you;
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
      roster = msg.people;
      locked = msg.locked;
      renderTiles();
      break;
    case 'waiting_list':
      renderWaiting(msg.people);
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
    case 'controls':
      controls = msg;
      applyControls();
      break;
    case 'speaker':
      speakerId = msg.id;
      markSpeaker();
      break;
    case 'chat':
      addChat(msg.name, msg.text, msg.from === me, msg.role);
      break;
    case 'error':
      if (msg.code === 'confidentiality_required' || msg.code === 'bad_name') {
        $('join-error').textContent = msg.message;
        $('join-error').hidden = false;
        $('join-button').disabled = false;
      } else if (msg.code === 'bad_sdp' || msg.code === 'media_unavailable') {
        recover();
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

// `fresh`: a new connection even if one is open (a returning socket).
// Otherwise the one made while waiting goes on: the server now forwards.
async function enterRoom(fresh) {
  show('room');
  status('');
  devices.stopMeter();
  if (fresh || !media) startMedia();
  renderTiles();
}

function startMedia() {
  stopMedia();
  media = new Media(signal, devices.stream, iceServers);
  media.addEventListener('stream', (event) => {
    const stream = event.detail;
    streams.set(stream.id, stream);
    stream.addEventListener('removetrack', () => renderTiles());
    stream.addEventListener('addtrack', () => renderTiles());
    renderTiles();
  });
  media.addEventListener('state', (event) => {
    if (event.detail === 'disconnected') status('Your connection is unstable…');
    if (event.detail === 'connected' || event.detail === 'completed') status('');
  });
  media.start();
  applyLocalTracks();
}

// When negotiation went wrong (an answer refused, an offer that does not
// apply), a fresh connection is the sure way back; at most a few a minute.
let recoveries = [];
function recover() {
  if (!media) return;
  const now = Date.now();
  recoveries = recoveries.filter((t) => now - t < 60000);
  if (recoveries.length >= 5) {
    status('Video could not be set up. Please reload the page.');
    return;
  }
  recoveries.push(now);
  setTimeout(() => { if (media) startMedia(); }, 500 * recoveries.length);
}

function stopMedia() {
  if (media) media.close();
  media = null;
  streams.clear();
}

function finish(title, text, survey) {
  stopMedia();
  signal.close();
  devices.stop();
  $('closed-title').textContent = title;
  $('closed-text').textContent = text;
  show('closed');
  offerSurvey(survey);
}

document.addEventListener('regroup:stream', (event) => {
  if (media) media.replaceCamera(event.detail);
  const self = tiles.get('self');
  if (self) self.querySelector('video').srcObject = event.detail;
});

// ---- tiles ----
function personName(p) {
  return p.id === me ? 'You' : p.name;
}

function tile(key, label, isSelf) {
  let el = tiles.get(key);
  if (!el) {
    el = document.createElement('figure');
    el.className = 'tile';
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    if (isSelf) video.muted = true;
    const caption = document.createElement('figcaption');
    const name = document.createElement('span');
    name.className = 'name';
    // The role is its own badge, outside the name: a client cannot type one.
    const badge = document.createElement('span');
    badge.className = 'role';
    badge.hidden = true;
    const state = document.createElement('span');
    state.className = 'state';
    caption.append(name, badge, state);
    el.append(video, caption);
    tiles.set(key, el);
    const sink = devices.sinkId;
    if (sink && video.setSinkId) video.setSinkId(sink).catch(() => {});
  }
  el.querySelector('.name').textContent = label;
  return el;
}

document.addEventListener('regroup:sink', (event) => {
  for (const el of tiles.values()) {
    const video = el.querySelector('video');
    if (video.setSinkId) video.setSinkId(event.detail).catch(() => {});
  }
});

function markRole(el, personRole) {
  const badge = el.querySelector('.role');
  badge.textContent = personRole === 'therapist' ? 'Therapist' : '';
  badge.hidden = personRole !== 'therapist';
}

function setSource(video, stream) {
  if (video.srcObject !== stream) {
    video.srcObject = stream;
    video.play().catch(() => {});
  }
}

function renderTiles() {
  const container = $('tiles');
  const wanted = new Set();
  const self = tile('self', 'You', true);
  self.classList.add('self');
  setSource(self.querySelector('video'), devices.stream);
  wanted.add('self');
  const ordered = [self];
  for (const person of roster) {
    if (person.id === me) continue;
    const el = tile(person.id, personName(person), false);
    el.dataset.person = person.id;
    const stream = person.stream ? streams.get(person.stream) : null;
    const video = el.querySelector('video');
    if (stream) {
      const cam = stream.getVideoTracks()[0];
      const parts = [...stream.getAudioTracks()];
      if (cam) parts.push(cam);
      const key = parts.map((t) => t.id).join(',');
      if (video.dataset.tracks !== key) {
        video.dataset.tracks = key;
        video.srcObject = new MediaStream(parts);
        video.play().catch(() => {});
      }
    }
    const notes = [];
    if (!person.connected) notes.push('reconnecting');
    if (!person.audio || person.host_muted) notes.push('muted');
    if (!person.video || person.host_camera_off) notes.push('camera off');
    markRole(el, person.role);
    el.querySelector('.state').textContent = notes.length ? ` · ${notes.join(', ')}` : '';
    if (isTherapist && person.role === 'client') therapistButtons(el, person);
    wanted.add(person.id);
    ordered.push(el);
    // A second video track from the same person is a shared screen.
    const screenTrack = stream ? stream.getVideoTracks()[1] : null;
    if (screenTrack) {
      const key = `${person.id}:screen`;
      const st = tile(key, `${personName(person)} (screen)`, false);
      st.classList.add('screen');
      markRole(st, person.role);
      const sv = st.querySelector('video');
      if (sv.dataset.tracks !== screenTrack.id) {
        sv.dataset.tracks = screenTrack.id;
        sv.muted = true;
        sv.srcObject = new MediaStream([screenTrack]);
        sv.play().catch(() => {});
      }
      wanted.add(key);
      ordered.unshift(st);
    }
  }
  for (const [key, el] of tiles) {
    if (!wanted.has(key)) {
      el.remove();
      tiles.delete(key);
    }
  }
  const current = [...container.children];
  if (current.length !== ordered.length || current.some((el, i) => el !== ordered[i])) {
    container.replaceChildren(...ordered);
  }
  container.dataset.count = String(ordered.length);
  const lockButton = $('lock');
  if (lockButton) {
    lockButton.textContent = locked ? 'Unlock' : 'Lock';
    lockButton.setAttribute('aria-pressed', String(locked));
  }
  markSpeaker();
}

function therapistButtons(el, person) {
  let bar = el.querySelector('.tile-controls');
  if (!bar) {
    bar = document.createElement('div');
    bar.className = 'tile-controls';
    const add = (text, type, cls) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = text;
      b.dataset.action = type;
      if (cls) b.className = cls;
      b.addEventListener('click', () => {
        const fields = { id: el.dataset.person };
        if (b.dataset.action === 'allow_screen') fields.allowed = b.dataset.allowed !== 'true';
        signal.send(b.dataset.action, fields);
      });
      bar.append(b);
      return b;
    };
    add('Mute', 'mute');
    add('Stop camera', 'camera_off');
    add('Allow unmute', 'allow_unmute');
    add('Allow screen sharing', 'allow_screen');
    add('To waiting room', 'to_waiting');
    add('Remove', 'remove', 'danger');
    el.append(bar);
  }
  for (const b of bar.querySelectorAll('button')) {
    b.setAttribute('aria-label', `${b.textContent}: ${person.name}`);
  }
  bar.querySelector('[data-action="allow_unmute"]').hidden = !(person.host_muted || person.host_camera_off);
  const screen = bar.querySelector('[data-action="allow_screen"]');
  screen.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  screen.dataset.allowed = String(Boolean(person.may_share));
  screen.textContent = person.may_share ? 'Stop screen sharing' : 'Allow screen sharing';
  screen.setAttribute('aria-label', `${screen.textContent}: ${person.name}`);
}

function markSpeaker() {
  for (const [key, el] of tiles) el.classList.toggle('speaking', key === speakerId && key !== 'self');
  const container = $('tiles');
  if (container.classList.contains('speaker-view')) {
    for (const [key, el] of tiles) el.classList.toggle('featured', key === (speakerId || firstRemote()));
  }
}

function firstRemote() {
  const p = roster.find((x) => x.id !== me);
  return p ? p.id : null;
}

$('toggle-layout').addEventListener('click', () => {
  const container = $('tiles');
  const speakerView = container.classList.toggle('speaker-view');
  $('toggle-layout').textContent = speakerView ? 'Grid view' : 'Speaker view';
  if (!speakerView) for (const el of tiles.values()) el.classList.remove('featured');
  markSpeaker();
});

// ---- waiting list (therapist) ----
function renderWaiting(people) {
  const list = $('waiting-list');
  if (!list) return;
  list.replaceChildren();
  for (const person of people) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = person.name;
    const admit = document.createElement('button');
    admit.type = 'button';
    admit.textContent = 'Admit';
    admit.className = 'primary';
    admit.setAttribute('aria-label', `Admit ${person.name}`);
    admit.addEventListener('click', () => signal.send('admit', { id: person.id }));
    const deny = document.createElement('button');
    deny.type = 'button';
    deny.textContent = 'Deny';
    deny.setAttribute('aria-label', `Deny ${person.name}`);
    deny.addEventListener('click', () => signal.send('deny', { id: person.id }));
    li.append(name, admit, deny);
    list.append(li);
  }
  $('waiting-empty').hidden = people.length > 0;
  $('admit-all').hidden = people.length < 2;
  // The count is news; once nobody waits, a stale count must not linger.
  if (people.length) status(`${people.length} waiting to be let in.`);
  else if (/ waiting to be let in\.$/.test($('room-status').textContent)) status('');
}

if (isTherapist) {
  $('admit-all').addEventListener('click', () => signal.send('admit_all'));
  $('lock').addEventListener('click', () => signal.send('lock', { locked: !locked }));
  $('end-session').addEventListener('click', () => signal.send('end'));
}

// ---- own microphone, camera, screen ----
function applyLocalTracks() {
  const stream = devices.stream;
  if (!stream) return;
  stream.getAudioTracks().forEach((t) => { t.enabled = micOn; });
  stream.getVideoTracks().forEach((t) => { t.enabled = camOn; });
  $('toggle-mic').textContent = micOn ? 'Mute me' : 'Unmute me';
  $('toggle-mic').setAttribute('aria-pressed', String(!micOn));
  $('toggle-cam').textContent = camOn ? 'Stop my camera' : 'Start my camera';
  $('toggle-cam').setAttribute('aria-pressed', String(!camOn));
  const blocked = !controls.may_unmute;
  $('toggle-mic').disabled = !micOn && controls.host_muted && blocked;
  $('toggle-cam').disabled = !camOn && controls.host_camera_off && blocked;
  const screenButton = $('toggle-screen');
  screenButton.hidden = !(controls.may_share && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  screenButton.textContent = sharing ? 'Stop sharing' : 'Share screen';
}

function applyControls() {
  if (controls.host_muted) micOn = false;
  if (controls.host_camera_off) camOn = false;
  if (controls.host_muted || controls.host_camera_off) {
    status(controls.may_unmute ? 'Your therapist allows you to turn your microphone and camera back on.'
      : 'Your therapist turned off your microphone or camera.');
  }
  applyLocalTracks();
}

function sendSelf() {
  signal.send('self_state', { audio: micOn, video: camOn });
}

$('toggle-mic').addEventListener('click', () => {
  micOn = !micOn;
  applyLocalTracks();
  sendSelf();
});
$('toggle-cam').addEventListener('click', () => {
  camOn = !camOn;
  applyLocalTracks();
  sendSelf();
});
$('toggle-screen').addEventListener('click', async () => {
  if (!media) return;
  if (sharing) {
    sharing.stop();
    sharing = null;
    await media.stopScreen();
    signal.send('screen', { on: false });
  } else {
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      sharing = display.getVideoTracks()[0];
      sharing.addEventListener('ended', () => $('toggle-screen').click());
      await media.shareScreen(sharing);
      signal.send('screen', { on: true });
    } catch {
      sharing = null;
    }
  }
  applyLocalTracks();
});

// ---- chat: relayed, never stored ----
function addChat(name, text, mine, senderRole) {
  const li = document.createElement('li');
  if (mine) li.className = 'mine';
  const who = document.createElement('strong');
  who.textContent = mine ? 'You' : name;
  li.append(who);
  // The server names the sender's role; a client's chosen name cannot.
  if (!mine && senderRole === 'therapist') {
    const badge = document.createElement('span');
    badge.className = 'role';
    badge.textContent = 'Therapist';
    li.append(document.createTextNode(' '), badge);
  }
  const body = document.createElement('span');
  body.textContent = text;
  li.append(document.createTextNode(': '), body);
  $('chat-log').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

$('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('chat-input');
  const text = input.value.trim();
  if (!text) return;
  signal.send('chat', { text });
  input.value = '';
});
