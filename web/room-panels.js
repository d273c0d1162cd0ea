// The side panels: chat, participants (with, for the therapist, the
// waiting room), and settings. One panel at a time; its toolbar button says whether it is
// open (aria-expanded), Escape closes it and focus goes back to the button.
import { PersonMenu, notesFor } from './room-tiles.js';

const $ = (id) => document.getElementById(id);

export class Panels {
  // ctx: the shared room context (isTherapist, send, togglePin, ...)
  constructor(ctx) {
    this.ctx = ctx;
    this.open = null;
    this.buttons = { chat: $('toggle-chat'), people: $('toggle-people') };
    this.panels = { chat: $('chat-panel'), people: $('people-panel') };
    this.unread = 0;
    this.waitingCount = 0;
    this.autoOpened = false;
    this.baseTitle = document.title;
    this.rows = new Map(); // person id -> { li, menu }
    // Settings (the sound switches, room-sound.js).
    if ($('settings-panel')) {
      this.buttons.settings = $('toggle-settings');
      this.panels.settings = $('settings-panel');
    }
    for (const name of Object.keys(this.panels)) this.wire(name);
    $('chat-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('chat-input');
      const text = input.value.trim();
      if (!text) return;
      ctx.send('chat', { text });
      input.value = '';
    });
    if (ctx.isTherapist) $('admit-all').addEventListener('click', () => ctx.send('admit_all'));
  }

  // Another panel (e.g. bilateral stimulation) that shares the one-at-a-time rule.
  add(name, button, panel) {
    this.buttons[name] = button;
    this.panels[name] = panel;
    this.wire(name);
  }

  wire(name) {
    this.buttons[name].addEventListener('click', () => this.toggle(name, true));
    this.panels[name].querySelector('.panel-close').addEventListener('click', () => this.close(true));
    this.panels[name].addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this.close(true);
      }
    });
  }

  toggle(name, moveFocus) {
    this.autoOpened = false;
    if (this.open === name) this.close(true);
    else this.show(name, moveFocus);
  }

  show(name, moveFocus) {
    if (this.open && this.open !== name) this.hide(this.open);
    this.open = name;
    this.panels[name].hidden = false;
    this.buttons[name].setAttribute('aria-expanded', 'true');
    this.buttons[name].classList.add('active');
    if (name === 'chat') {
      this.unread = 0;
      this.badge('chat', 0);
    }
    if (moveFocus) {
      const target = name === 'chat' ? $('chat-input') : this.panels[name].querySelector('h2');
      target.focus();
    }
    this.ctx.onChange();
  }

  hide(name) {
    this.panels[name].hidden = true;
    this.buttons[name].setAttribute('aria-expanded', 'false');
    this.buttons[name].classList.remove('active');
  }

  close(returnFocus) {
    if (!this.open) return;
    const name = this.open;
    this.hide(name);
    this.open = null;
    if (returnFocus) this.buttons[name].focus();
    this.ctx.onChange();
  }

  badge(name, n) {
    const b = this.buttons[name].querySelector('.badge');
    b.textContent = n > 9 ? '9+' : String(n);
    b.hidden = n === 0;
  }

  // ---- chat: relayed, never stored ----
  addChat(name, text, mine, senderRole) {
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
    if (this.open !== 'chat' && !mine) {
      this.unread += 1;
      this.badge('chat', this.unread);
      this.ctx.notice(`New message from ${name}: ${text}`);
    }
  }

  // ---- everyone in the room ----
  renderPeople(roster, me) {
    const list = $('people-list');
    const seen = new Set();
    const items = [];
    for (const person of roster) {
      seen.add(person.id);
      let row = this.rows.get(person.id);
      if (!row) {
        const li = document.createElement('li');
        const who = document.createElement('span');
        who.className = 'who';
        const name = document.createElement('span');
        name.className = 'person-name';
        const badge = document.createElement('span');
        badge.className = 'role';
        badge.textContent = 'Therapist';
        const notes = document.createElement('span');
        notes.className = 'notes';
        who.append(name, badge, notes);
        li.append(who);
        row = { li, menu: null };
        if (person.id !== me) {
          row.menu = new PersonMenu(this.ctx, person.id);
          li.append(row.menu.element);
        }
        this.rows.set(person.id, row);
      }
      row.li.querySelector('.person-name').textContent = person.id === me ? `${person.name} (you)` : person.name;
      row.li.querySelector('.role').hidden = person.role !== 'therapist';
      const notes = notesFor(person);
      row.li.querySelector('.notes').textContent = notes.length ? notes.join(', ') : '';
      row.li.classList.toggle('hand-up', Boolean(person.hand));
      if (row.menu) row.menu.update(person, this.ctx.pinned() === person.id);
      items.push(row.li);
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.li.remove();
        this.rows.delete(id);
      }
    }
    // Oneself first, then raised hands, in arrival order otherwise.
    const rank = (li) => (li === (this.rows.get(me) || {}).li ? 0 : li.classList.contains('hand-up') ? 1 : 2);
    items.sort((a, b) => rank(a) - rank(b));
    const current = [...list.children];
    if (current.length !== items.length || current.some((el, i) => el !== items[i])) list.replaceChildren(...items);
    $('people-count').textContent = String(roster.length);
  }

  // ---- the waiting room (therapist) ----
  renderWaiting(people) {
    const list = $('waiting-list');
    if (!list) return;
    list.replaceChildren();
    for (const person of people) {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'who';
      name.textContent = person.name;
      const admit = document.createElement('button');
      admit.type = 'button';
      admit.textContent = 'Admit';
      admit.className = 'primary';
      admit.setAttribute('aria-label', `Admit ${person.name}`);
      admit.addEventListener('click', () => this.ctx.send('admit', { id: person.id }));
      const deny = document.createElement('button');
      deny.type = 'button';
      deny.textContent = 'Deny';
      deny.className = 'quiet';
      deny.setAttribute('aria-label', `Deny ${person.name}`);
      deny.addEventListener('click', () => this.ctx.send('deny', { id: person.id }));
      li.append(name, admit, deny);
      list.append(li);
    }
    $('waiting-empty').hidden = people.length > 0;
    $('admit-all').hidden = people.length < 2;
    const before = this.waitingCount;
    this.waitingCount = people.length;
    this.badge('people', people.length);
    document.title = people.length ? `(${people.length}) ${this.baseTitle}` : this.baseTitle;
    // Opened by an arrival, the panel goes again once nobody waits.
    if (!people.length && this.autoOpened && this.open === 'people') {
      this.autoOpened = false;
      this.close(this.panels.people.contains(document.activeElement));
    }
    // The count is news; once nobody waits, a stale count must not linger.
    if (!people.length && / waiting to be let in\.$/.test($('room-status').textContent)) this.ctx.notice('');
    if (people.length > before) {
      chime();
      // Someone arrived: show who, unless the therapist is busy in the chat.
      if (!this.open) {
        this.show('people', false);
        this.autoOpened = true;
      }
      this.ctx.notice(people.length === 1 ? `${people[0].name} is waiting to be let in.` : `${people.length} waiting to be let in.`);
    }
  }
}

// A soft two-note chime when someone arrives in the waiting room: quiet
// sine tones, shaped so they start and end without a click.
let audio = null;
export function unlockChime() {
  try {
    audio = audio || new AudioContext();
    audio.resume().catch(() => {});
  } catch {
    audio = null;
  }
}

function chime() {
  if (!audio) return;
  const now = audio.currentTime;
  [[660, 0], [880, 0.18]].forEach(([freq, at]) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0, now + at);
    gain.gain.linearRampToValueAtTime(0.06, now + at + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.6);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + at);
    osc.stop(now + at + 0.65);
  });
}
