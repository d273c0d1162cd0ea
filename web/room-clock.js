// The session clock at the top of the stage: time elapsed and time left
// against the scheduled end. The server's `clock` message carries the
// scheduled start and end and its own now; the difference from this
// device's clock is kept, so a device set to the wrong time still counts
// right. The therapist always sees it, with a notice 5 minutes before the
// end and at the end, "Extend 15 minutes" from the notice on, and the switch
// that shows it to clients; clients see it only while that switch is on.
//
// For screen readers the time is plain text, read when they reach it, never
// announced each second; only the notice is a polite status, said once
// when it changes.

const $ = (id) => document.getElementById(id);
const NOTICE_BEFORE = 5 * 60;

// Seconds as m:ss, or h:mm:ss from an hour on.
export function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

const timeOfDay = (unix) => new Date(unix * 1000).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });

export class SessionClock {
  // ctx: { isTherapist, send(type, fields), onChange() }
  constructor(ctx) {
    this.ctx = ctx;
    this.el = $('session-clock');
    this.times = null; // the last `clock` message
    this.offset = 0; // server time minus this device's time, in ms
    this.stage = null;
    this.timer = null;
    this.extend = $('clock-extend');
    this.clients = $('clock-clients');
    if (this.extend) {
      this.extend.addEventListener('click', () => {
        // One click, one extension: the button waits for the server's answer.
        this.extend.disabled = true;
        this.extending = true;
        ctx.send('extend');
      });
    }
    if (this.clients) {
      this.clients.addEventListener('click', () => {
        ctx.send('show_clock', { on: !(this.times && this.times.shown) });
      });
    }
    // The stage makes room for the clock above the tiles.
    new ResizeObserver(() => this.place()).observe(this.el);
  }

  // A `clock` message.
  update(msg) {
    const before = this.times;
    this.times = msg;
    this.offset = msg.now * 1000 - Date.now();
    if (this.clients) this.clients.textContent = msg.shown ? 'Hide clock from clients' : 'Show clock to clients';
    const wasHidden = this.el.hidden;
    this.el.hidden = false;
    if (this.extend) this.extend.disabled = false;
    const longer = before && msg.ends_at > before.ends_at;
    this.tick();
    if (longer && this.ctx.isTherapist) {
      this.say(`The session now ends at ${timeOfDay(msg.ends_at)}.`);
      if (this.extending) this.el.focus();
    }
    this.extending = false;
    if (!this.timer) this.timer = setInterval(() => this.tick(), 1000);
    if (wasHidden) this.place();
  }

  // `clock_hidden`: the therapist stopped showing clients the clock.
  hide() {
    this.times = null;
    this.el.hidden = true;
    clearInterval(this.timer);
    this.timer = null;
    this.place();
  }

  // An `error` while "Extend" waits for its answer: if it is the refusal
  // (the next session, the longest session, a change made meanwhile), it
  // is said beside the clock and stays there. True when it was.
  answers(msg) {
    if (!this.extending) return false;
    this.extending = false;
    this.extend.disabled = false;
    if (!['next_session', 'too_long', 'session_changed', 'internal'].includes(msg.code)) return false;
    this.say(msg.message);
    return true;
  }

  tick() {
    const t = this.times;
    if (!t) return;
    const now = (Date.now() + this.offset) / 1000;
    const elapsed = $('clock-elapsed');
    const left = $('clock-left');
    if (now < t.starts_at) {
      elapsed.textContent = `Starts in ${clockText(t.starts_at - now)}`;
      left.textContent = `${Math.round((t.ends_at - t.starts_at) / 60)} minutes scheduled`;
    } else {
      elapsed.textContent = `${clockText(now - t.starts_at)} elapsed`;
      left.textContent = now < t.ends_at ? `${clockText(t.ends_at - now)} left` : `${clockText(now - t.ends_at)} over time`;
    }
    const stage = now >= t.ends_at ? 'over' : now >= t.ends_at - NOTICE_BEFORE ? 'notice' : 'running';
    if (!this.ctx.isTherapist) return;
    // Only the therapist's strip changes colour near the end: a client's
    // clock stays calm.
    this.el.classList.toggle('ending', stage !== 'running');
    this.extend.hidden = stage === 'running';
    if (stage === this.stage) return;
    this.stage = stage;
    if (stage === 'notice') {
      const minutes = Math.ceil((t.ends_at - now) / 60);
      this.say(`${minutes === 1 ? '1 minute' : `${minutes} minutes`} left: the session is scheduled to end at ${timeOfDay(t.ends_at)}.`);
    } else if (stage === 'over') {
      this.say(`The scheduled time is over. The room stays open while you are here, until ${timeOfDay(t.closes_at)}.`);
    }
  }

  // The notice: a polite status, changed only at these few moments.
  say(text) {
    $('clock-notice').textContent = text;
  }

  place() {
    const h = this.el.hidden ? 0 : this.el.offsetHeight + 8;
    this.el.parentElement.style.setProperty('--clock-h', `${h}px`);
  }
}
