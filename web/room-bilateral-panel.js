// The therapist's bilateral stimulation panel: which client, speed, colour,
// size, tones, and Start / Pause / Stop. It sends settings over the room
// socket and shows the state the server sends back, so a reloaded page
// finds the dot as it is. The client's page animates it (room-bilateral.js).

const $ = (id) => document.getElementById(id);

export class BilateralPanel {
  // ctx: the room context (send, group)
  constructor(ctx) {
    this.ctx = ctx;
    this.on = null; // the server's latest `bilateral` message while on
    this.names = new Map(); // client id -> name
    this.target = $('bilateral-target');
    this.speed = $('bilateral-speed');
    this.size = $('bilateral-size');
    this.color = $('bilateral-color');
    this.tones = $('bilateral-tones');
    const shown = () => {
      $('bilateral-speed-value').textContent = Number(this.speed.value).toFixed(1);
      $('bilateral-size-value').textContent = this.size.value;
    };
    this.speed.addEventListener('input', shown);
    this.size.addEventListener('input', shown);
    shown();
    // Changes while the dot is on apply at once (a slider on release, so
    // dragging does not flood the socket).
    for (const input of [this.target, this.speed, this.size, this.color, this.tones]) {
      input.addEventListener('change', () => {
        if (this.on) this.send(this.on.running);
      });
    }
    // Buttons that do not apply are marked (aria-disabled), not disabled, so
    // focus stays on the one just pressed.
    const button = (id, act) => $(id).addEventListener('click', () => {
      if ($(id).getAttribute('aria-disabled') !== 'true') act();
    });
    button('bilateral-start', () => this.send(true));
    button('bilateral-pause', () => this.send(false));
    button('bilateral-stop', () => ctx.send('bilateral_stop'));
    this.render();
  }

  send(running) {
    if (!this.target.value) {
      this.say('Choose a client first.');
      this.target.focus();
      return;
    }
    this.ctx.send('bilateral', {
      target: this.target.value,
      running,
      speed: Number(this.speed.value),
      color: this.color.value,
      size: Number(this.size.value),
      tones: this.tones.checked,
    });
  }

  // The clients in the room. In a group nobody is chosen until the
  // therapist picks one; in a 1:1 session it is the one client.
  setRoster(roster) {
    const clients = roster.filter((p) => p.role === 'client');
    const key = JSON.stringify(clients.map((p) => [p.id, p.name]));
    if (key === this.rosterKey) return;
    this.rosterKey = key;
    const chosen = this.target.value;
    this.names = new Map(clients.map((p) => [p.id, p.name]));
    const options = [];
    if (this.ctx.group || clients.length !== 1) {
      const none = new Option(clients.length ? 'Choose a client' : 'No client in the room yet', '');
      options.push(none);
    }
    for (const p of clients) options.push(new Option(p.name, p.id));
    this.target.replaceChildren(...options);
    if (this.names.has(chosen)) this.target.value = chosen;
    if (this.on && this.names.has(this.on.target)) this.target.value = this.on.target;
    this.render();
  }

  // From the server: `bilateral` (on) or `bilateral_stop` (off).
  apply(msg) {
    this.on = msg;
    this.speed.value = String(msg.speed);
    this.size.value = String(msg.size);
    this.tones.checked = msg.tones;
    const named = [...this.color.options].find((o) => o.dataset.hex === msg.color);
    if (named) this.color.value = named.value;
    if (this.names.has(msg.target)) this.target.value = msg.target;
    this.speed.dispatchEvent(new Event('input'));
    this.render();
  }

  stop() {
    this.on = null;
    this.render();
  }

  render() {
    const on = this.on;
    const name = on ? this.names.get(on.target) || 'the client' : '';
    this.say(!on ? 'Off.' : on.running ? `Moving for ${name}.` : `Paused for ${name}.`);
    const mark = (id, off) => $(id).setAttribute('aria-disabled', String(off));
    mark('bilateral-start', Boolean(on && on.running) || this.names.size === 0);
    $('bilateral-start').textContent = on && !on.running ? 'Resume' : 'Start';
    mark('bilateral-pause', !(on && on.running));
    mark('bilateral-stop', !on);
  }

  say(text) {
    $('bilateral-state').textContent = text;
  }
}
