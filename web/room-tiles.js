// The video tiles: one per person (and one per shared screen), with name,
// role badge, muted / camera-off / raised-hand marks, a connection
// indicator, and a "More" menu (pin; for the therapist, the controls for
// that client). Where the tiles go is room-layout.js's business.
import { icon } from './room-icons.js';
import { MenuButton } from './room-menu.js';
import { layout, draggable, CORNERS, CORNER_NAMES } from './room-layout.js';
import { forPerson } from './room-stats.js';

const CORNER_KEY = 'regroup.pip-corner';

function initials(name) {
  const parts = String(name || '').trim().split(/\s+/).filter(Boolean);
  return parts.slice(0, 2).map((p) => p[0].toUpperCase()).join('') || '?';
}

function remembered() {
  try {
    const c = localStorage.getItem(CORNER_KEY);
    return CORNERS.includes(c) ? c : 'br';
  } catch {
    return 'br';
  }
}

// What a person's notes say, for the tile and the participants list alike.
export function notesFor(person) {
  const notes = [];
  if (!person.connected) notes.push('reconnecting');
  if (!person.audio || person.host_muted) notes.push('muted');
  if (person.audio_only) notes.push('audio only');
  else if (!person.video || person.host_camera_off) notes.push('camera off');
  if (person.hand) notes.push('hand raised');
  // Only in the therapist's roster, only when the client's browser says so.
  if (person.headphones) notes.push('using headphones');
  return notes;
}

// The menu of actions on one person: Pin for everyone; for the therapist,
// on a client, the controls the server enforces. Each action's accessible
// name names the person ("Mute: Ben Okafor"), its text is the verb.
export class PersonMenu {
  constructor(ctx, id, { pin = true } = {}) {
    this.ctx = ctx;
    this.id = id;
    this.menu = new MenuButton('More', 'More');
    this.pin = pin ? this.menu.item('Pin', () => ctx.togglePin(id)) : null;
    this.controls = [];
    if (ctx.isTherapist) {
      const send = (type, fields = {}) => ctx.send(type, { id: this.id, ...fields });
      const add = (text, action, cls) => {
        const b = this.menu.item(text, () => {
          if (action === 'allow_screen') send(action, { allowed: b.dataset.allowed !== 'true' });
          else send(action);
        }, cls);
        b.dataset.action = action;
        this.controls.push(b);
        return b;
      };
      add('Mute', 'mute');
      add('Stop camera', 'camera_off');
      add('Allow unmute', 'allow_unmute');
      add('Allow screen sharing', 'allow_screen');
      add('To waiting room', 'to_waiting');
      add('Remove', 'remove', 'danger');
    }
  }

  get element() {
    return this.menu.wrap;
  }

  update(person, pinned) {
    this.menu.setLabel(`More: ${person.name}`, 'More');
    if (this.pin) {
      this.pin.textContent = pinned ? 'Unpin' : 'Pin';
      this.pin.setAttribute('aria-label', `${this.pin.textContent}: ${person.name}`);
    }
    const client = person.role === 'client';
    for (const b of this.controls) {
      b.hidden = !client;
      if (b.dataset.action === 'allow_unmute') b.hidden = !client || !(person.host_muted || person.host_camera_off);
      if (b.dataset.action === 'allow_screen') {
        b.hidden = !client || !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
        b.dataset.allowed = String(Boolean(person.may_share));
        b.textContent = person.may_share ? 'Stop screen sharing' : 'Allow screen sharing';
      }
      b.setAttribute('aria-label', `${b.textContent}: ${person.name}`);
    }
    this.menu.wrap.hidden = this.menu.items().length === 0;
  }
}

export class Tiles {
  // ctx: { container, isTherapist, group, send(type, fields), sinkId(), onChange() }
  constructor(ctx) {
    this.ctx = ctx;
    this.container = ctx.container;
    this.tiles = new Map(); // key -> { el, menu, person }
    this.speakerId = null;
    this.speakerView = false;
    this.pinned = null;
    this.corner = remembered();
    this.stats = null;
    // Players started while the tracks were negotiated but before the tile
    // exists (the waiting room): MediaStream.id -> { key, video }. A tile
    // takes its player from here, already running, so the first frame
    // shows as it arrives instead of after a new player starts.
    this.players = new Map();
    ctx.togglePin = (key) => this.togglePin(key);
    new ResizeObserver(() => this.relayout()).observe(this.container);
  }

  tile(key, label, kind) {
    let t = this.tiles.get(key);
    if (!t) {
      const el = document.createElement('figure');
      el.className = 'tile';
      const video = this.newVideo(kind);
      const avatar = document.createElement('div');
      avatar.className = 'avatar';
      avatar.setAttribute('aria-hidden', 'true');
      const caption = document.createElement('figcaption');
      caption.className = 'caption';
      const muted = document.createElement('span');
      muted.className = 'flag flag-muted';
      muted.append(icon('micOff'));
      const camOff = document.createElement('span');
      camOff.className = 'flag flag-cam';
      camOff.append(icon('camOff'));
      const audioOnly = document.createElement('span');
      audioOnly.className = 'flag flag-audio-only';
      audioOnly.append(icon('audio'));
      const hand = document.createElement('span');
      hand.className = 'flag flag-hand';
      hand.append(icon('hand'));
      const headphones = document.createElement('span');
      headphones.className = 'flag flag-headphones';
      headphones.append(icon('headphones'));
      const name = document.createElement('span');
      name.className = 'name';
      // The role is its own badge, outside the name: a client cannot type one.
      const badge = document.createElement('span');
      badge.className = 'role';
      badge.hidden = true;
      const state = document.createElement('span');
      state.className = 'state visually-hidden';
      caption.append(muted, camOff, audioOnly, hand, headphones, name, badge, state);
      const tools = document.createElement('div');
      tools.className = 'tile-tools';
      el.append(video, avatar, caption, tools);
      t = { el, video, menu: null, person: null, kind };
      if (kind === 'remote') {
        const q = document.createElement('span');
        q.className = 'quality';
        q.setAttribute('role', 'img');
        q.tabIndex = 0;
        // Its place is kept until the first figures arrive, so the menu
        // button beside it never jumps under a finger (or a click).
        q.classList.add('pending');
        for (let i = 0; i < 3; i++) {
          const bar = document.createElement('i');
          bar.setAttribute('aria-hidden', 'true');
          q.append(bar);
        }
        const tip = document.createElement('span');
        tip.className = 'tip';
        tip.setAttribute('aria-hidden', 'true');
        q.append(tip);
        tools.append(q);
        t.quality = q;
        t.menu = new PersonMenu(this.ctx, key);
        tools.append(t.menu.element);
      }
      if (kind === 'self') {
        const move = document.createElement('button');
        move.type = 'button';
        move.className = 'tool small-tool pip-move';
        move.append(icon('move'));
        const tip = document.createElement('span');
        tip.className = 'tip';
        tip.setAttribute('aria-hidden', 'true');
        tip.textContent = 'Move my picture';
        move.append(tip);
        move.addEventListener('click', () => {
          this.setCorner(CORNERS[(CORNERS.indexOf(this.corner) + 1) % CORNERS.length]);
          move.focus();
        });
        tools.append(move);
        t.move = move;
        draggable(el, this.container, (corner) => this.setCorner(corner));
      }
      this.tiles.set(key, t);
    }
    t.el.querySelector('.name').textContent = label;
    t.el.querySelector('.avatar').textContent = initials(label === 'You' ? this.ctx.myName() : label);
    return t;
  }

  newVideo(kind) {
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    if (kind !== 'remote') video.muted = true;
    // A phone held upright sends a tall picture: show it whole.
    video.addEventListener('resize', () => markPortrait(video));
    const sink = this.ctx.sinkId();
    if (sink && video.setSinkId) video.setSinkId(sink).catch(() => {});
    return video;
  }

  // A person's stream as their tile shows it: microphone and camera.
  // Starts its player ahead of the tile (see `players`).
  warm(stream) {
    const parts = tileTracks(stream);
    const key = parts.map((x) => x.id).join(',');
    const held = this.players.get(stream.id);
    if (!parts.length || (held && held.key === key)) return;
    if ([...this.tiles.values()].some((t) => t.video.dataset.tracks === key)) return;
    if (held) stopVideo(held.video);
    const video = this.newVideo('remote');
    video.dataset.tracks = key;
    video.srcObject = new MediaStream(parts);
    video.play().catch(() => {});
    this.players.set(stream.id, { key, video });
  }

  setCorner(corner) {
    this.corner = corner;
    try {
      localStorage.setItem(CORNER_KEY, corner);
    } catch {
      // Private browsing: the corner is kept for this page only.
    }
    this.relayout();
  }

  setSink(id) {
    const videos = [...this.tiles.values(), ...this.players.values()].map((t) => t.video);
    for (const v of videos) if (v.setSinkId) v.setSinkId(id).catch(() => {});
  }

  setSelfStream(stream) {
    const t = this.tiles.get('self');
    if (t) t.video.srcObject = stream;
  }

  // state: { roster, me, streams (Map), selfStream, micOn, camOn, hand }
  render(state) {
    const wanted = new Set();
    const ordered = [];
    const screens = [];
    const self = this.tile('self', 'You', 'self');
    self.el.classList.add('self');
    setSource(self.video, state.selfStream);
    this.markSelf(state);
    wanted.add('self');
    ordered.push(self.el);
    for (const person of state.roster) {
      if (person.id === state.me) continue;
      const t = this.tile(person.id, person.name, 'remote');
      t.person = person;
      t.el.dataset.person = person.id;
      const stream = person.stream ? state.streams.get(person.stream) : null;
      t.tracks = [];
      if (stream) {
        const parts = tileTracks(stream);
        t.tracks = parts.map((x) => x.id);
        const key = t.tracks.join(',');
        const ready = this.players.get(stream.id);
        if (t.video.dataset.tracks === key) {
          // Shown already.
        } else if (ready && ready.key === key) {
          this.players.delete(stream.id);
          stopVideo(t.video);
          t.video.replaceWith(ready.video);
          t.video = ready.video;
          markPortrait(t.video);
        } else {
          t.video.dataset.tracks = key;
          t.video.srcObject = new MediaStream(parts);
          t.video.play().catch(() => {});
        }
      }
      markRole(t.el, person.role);
      markState(t, person);
      t.menu.update(person, this.pinned === person.id);
      wanted.add(person.id);
      ordered.push(t.el);
      // A second video track from the same person is a shared screen.
      const screenTrack = stream ? stream.getVideoTracks()[1] : null;
      if (screenTrack) {
        const key = `${person.id}:screen`;
        const st = this.tile(key, `${person.name} (screen)`, 'screen');
        st.el.classList.add('screen');
        markRole(st.el, person.role);
        if (st.video.dataset.tracks !== screenTrack.id) {
          st.video.dataset.tracks = screenTrack.id;
          st.video.srcObject = new MediaStream([screenTrack]);
          st.video.play().catch(() => {});
        }
        wanted.add(key);
        screens.push(st.el);
      }
    }
    for (const [id, p] of this.players) {
      if (!state.streams.has(id)) {
        stopVideo(p.video);
        this.players.delete(id);
      }
    }
    for (const [key, t] of this.tiles) {
      if (!wanted.has(key)) {
        t.el.remove();
        this.tiles.delete(key);
        if (this.pinned === key) this.pinned = null;
      }
    }
    // In a 1:1 the self-view is a corner picture: last in the focus order.
    if (!this.ctx.group) ordered.push(ordered.shift());
    const all = [...screens, ...ordered];
    const current = [...this.container.children];
    if (current.length !== all.length || current.some((el, i) => el !== all[i])) {
      this.container.replaceChildren(...all);
    }
    this.container.dataset.count = String(all.length);
    if (this.stats) this.applyStats(this.stats);
    this.markSpeaker();
    this.relayout();
  }

  // On audio only no pictures arrive: every other tile shows its initials
  // (a last frozen frame would say the wrong thing).
  setAudioOnly(on) {
    this.container.classList.toggle('audio-only', on);
  }

  markSelf({ micOn, camOn, hand }) {
    const self = this.tiles.get('self');
    if (self) markState(self, { connected: true, audio: micOn, video: camOn, hand });
  }

  togglePin(key) {
    this.pinned = this.pinned === key ? null : key;
    for (const [k, t] of this.tiles) {
      t.el.classList.toggle('pinned', k === this.pinned);
      if (t.menu && t.person) t.menu.update(t.person, k === this.pinned);
    }
    this.relayout();
    this.ctx.onChange();
  }

  setSpeakerView(on) {
    this.speakerView = on;
    this.relayout();
  }

  setSpeaker(id) {
    this.speakerId = id;
    this.markSpeaker();
    if (this.speakerView && !this.pinned) this.relayout();
  }

  markSpeaker() {
    for (const [key, t] of this.tiles) t.el.classList.toggle('speaking', key === this.speakerId && key !== 'self');
  }

  // The large tile: a pinned one, else a shared screen (in any view: it is
  // what everyone is meant to look at), else in speaker view the speaker.
  featured() {
    if (this.pinned && this.tiles.has(this.pinned)) return this.tiles.get(this.pinned).el;
    const screen = [...this.tiles.entries()].find(([k]) => k.endsWith(':screen'));
    if (screen) return screen[1].el;
    if (!this.speakerView) return null;
    if (this.speakerId && this.tiles.has(this.speakerId) && this.speakerId !== 'self') return this.tiles.get(this.speakerId).el;
    const remote = [...this.tiles.entries()].find(([k]) => k !== 'self');
    return remote ? remote[1].el : null;
  }

  relayout() {
    const els = [...this.container.children];
    const self = this.tiles.get('self');
    const remotes = els.filter((el) => !self || el !== self.el);
    // 1:1: the other person fills the stage, the self-view is a small picture.
    const pip = !this.ctx.group && remotes.length > 0 && self && this.pinned !== 'self' ? self.el : null;
    for (const t of this.tiles.values()) t.el.classList.remove('featured');
    const featured = this.featured();
    if (featured) featured.classList.add('featured');
    if (self) {
      self.el.classList.toggle('pip', Boolean(pip));
      self.move.hidden = !pip;
      const where = CORNER_NAMES[this.corner];
      self.move.setAttribute('aria-label', `Move my picture (now ${where})`);
      self.move.querySelector('.tip').textContent = 'Move my picture';
    }
    // The big tile's name and tools step aside from the corner the picture covers.
    this.container.dataset.pip = pip ? this.corner : '';
    const height = layout(this.container, els, { featured, pip, corner: this.corner });
    // Only a phone's column of many tiles scrolls; elsewhere everything fits.
    this.container.classList.toggle('scrolls', height > this.container.clientHeight + 1);
  }

  applyStats(stats) {
    this.stats = stats;
    for (const t of this.tiles.values()) {
      if (!t.quality || !t.tracks || !t.tracks.length) continue;
      const q = forPerson(stats, t.tracks, this.tiles.size);
      t.quality.classList.remove('pending');
      t.quality.dataset.level = q.level;
      const label = `Connection ${q.level}: ${q.detail}`;
      t.quality.setAttribute('aria-label', label);
      t.quality.querySelector('.tip').textContent = label;
    }
  }
}

function markRole(el, personRole) {
  const badge = el.querySelector('.role');
  badge.textContent = personRole === 'therapist' ? 'Therapist' : '';
  badge.hidden = personRole !== 'therapist';
}

function markState(t, person) {
  const notes = notesFor(person);
  t.el.classList.toggle('muted', notes.includes('muted'));
  t.el.classList.toggle('cam-off', notes.includes('camera off') || notes.includes('audio only'));
  t.el.classList.toggle('audio-only', notes.includes('audio only'));
  t.el.classList.toggle('hand-up', Boolean(person.hand));
  t.el.classList.toggle('headphones', Boolean(person.headphones));
  t.el.classList.toggle('away', !person.connected);
  t.el.querySelector('.state').textContent = notes.length ? ` · ${notes.join(', ')}` : '';
}

// The tracks a person's tile plays: their microphone and first camera (a
// second video track is a shared screen, in a tile of its own).
function tileTracks(stream) {
  const cam = stream.getVideoTracks()[0];
  const parts = [...stream.getAudioTracks()];
  if (cam) parts.push(cam);
  return parts;
}

function markPortrait(video) {
  const tile = video.closest('figure');
  if (tile) tile.classList.toggle('portrait', video.videoHeight > video.videoWidth);
}

function stopVideo(video) {
  video.pause();
  video.srcObject = null;
}

function setSource(video, stream) {
  if (video.srcObject !== stream) {
    video.srcObject = stream;
    video.play().catch(() => {});
  }
}
