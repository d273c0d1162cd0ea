// The bottom toolbar: icon buttons, each with an accessible name (the same
// words as its tooltip) that changes with its state, e.g. "Mute me" /
// "Unmute me". The names are the UI contract in docs/room-ui.md.
import { icon, setIcon } from './room-icons.js';

const $ = (id) => document.getElementById(id);

// Gives every [data-icon] button its icon and a tooltip from its name.
export function decorate(root) {
  for (const b of root.querySelectorAll('button[data-icon]')) {
    b.prepend(icon(b.dataset.icon));
    if (!b.querySelector('.tip')) {
      const tip = document.createElement('span');
      tip.className = 'tip';
      tip.setAttribute('aria-hidden', 'true');
      b.append(tip);
    }
    name(b, b.getAttribute('aria-label'));
  }
}

export function name(button, text) {
  button.setAttribute('aria-label', text);
  button.querySelector('.tip').textContent = text;
}

// handlers: { mic, cam, screen, hand, audioOnly, background, layout, lock, end, leave }
export class Toolbar {
  constructor(handlers) {
    this.el = document.querySelector('.toolbar');
    decorate(document.getElementById('room'));
    const on = (id, fn) => { const b = $(id); if (b) b.addEventListener('click', fn); };
    on('toggle-mic', handlers.mic);
    on('toggle-cam', handlers.cam);
    on('toggle-screen', handlers.screen);
    on('toggle-hand', handlers.hand);
    on('toggle-audio-only', handlers.audioOnly);
    on('toggle-background', handlers.background);
    on('toggle-layout', handlers.layout);
    on('lock', handlers.lock);
    const dialog = $('end-dialog');
    on('end-session', () => {
      if (dialog && dialog.showModal) dialog.showModal();
      else handlers.end();
    });
    on('end-cancel', () => dialog.close());
    on('end-confirm', () => {
      dialog.close();
      handlers.end();
    });
    document.querySelectorAll('.leave-button').forEach((b) => b.addEventListener('click', handlers.leave));
    new ResizeObserver(() => this.fitNames()).observe(this.el);
  }

  // A wide window shows each button's name under its icon. Where the names
  // would push the toolbar onto a second row (the therapist's many tools at
  // 1200 px), icons alone keep it on one: the names stay as tooltips. The
  // width the named buttons need is measured while they show.
  fitNames() {
    const bar = this.el;
    if (!bar.classList.contains('compact')) {
      const style = getComputedStyle(bar);
      const groups = [...bar.querySelectorAll('.tool-group')].filter((g) => g.offsetWidth > 0);
      const gaps = (parseFloat(style.columnGap) || 0) * Math.max(0, groups.length - 1);
      const padding = (parseFloat(style.paddingLeft) || 0) + (parseFloat(style.paddingRight) || 0);
      this.namedWidth = groups.reduce((sum, g) => sum + g.scrollWidth, 0) + gaps + padding;
    }
    bar.classList.toggle('compact', this.namedWidth > bar.clientWidth);
  }

  // s: { micOn, camOn, controls, sharing, canShare, hand, audioOnly, background, locked, speakerView }
  update(s) {
    const mic = $('toggle-mic');
    name(mic, s.micOn ? 'Mute me' : 'Unmute me');
    setIcon(mic, s.micOn ? 'mic' : 'micOff');
    mic.setAttribute('aria-pressed', String(!s.micOn));
    const cam = $('toggle-cam');
    name(cam, s.camOn ? 'Stop my camera' : 'Start my camera');
    setIcon(cam, s.camOn ? 'cam' : 'camOff');
    cam.setAttribute('aria-pressed', String(!s.camOn));
    const blocked = !s.controls.may_unmute;
    mic.disabled = !s.micOn && s.controls.host_muted && blocked;
    cam.disabled = !s.camOn && s.controls.host_camera_off && blocked;
    const screen = $('toggle-screen');
    screen.hidden = !s.canShare;
    name(screen, s.sharing ? 'Stop sharing' : 'Share screen');
    screen.classList.toggle('active', Boolean(s.sharing));
    const audioOnly = $('toggle-audio-only');
    name(audioOnly, s.audioOnly ? 'Turn video back on' : 'Audio only');
    setIcon(audioOnly, s.audioOnly ? 'cam' : 'audio');
    audioOnly.setAttribute('aria-pressed', String(s.audioOnly));
    const hand = $('toggle-hand');
    if (hand) {
      name(hand, s.hand ? 'Lower hand' : 'Raise hand');
      hand.setAttribute('aria-pressed', String(Boolean(s.hand)));
    }
    // Blur, or the plain background chosen before joining: either way the
    // button turns it off, and on again as blur.
    const background = $('toggle-background');
    const changed = s.background !== 'none';
    name(background, changed ? 'Show my background' : 'Blur my background');
    background.setAttribute('aria-pressed', String(changed));
    const layout = $('toggle-layout');
    name(layout, s.speakerView ? 'Grid view' : 'Speaker view');
    setIcon(layout, s.speakerView ? 'grid' : 'speaker');
    const lock = $('lock');
    if (lock) {
      name(lock, s.locked ? 'Unlock' : 'Lock');
      setIcon(lock, s.locked ? 'lock' : 'unlock');
      lock.setAttribute('aria-pressed', String(s.locked));
    }
    // Names change with state ("Mute me", "Unmute me") and buttons come and
    // go: measure again then, and only then, since measuring forces a layout
    // and updates come with every roster. Window sizes are the observer's.
    const shown = [...this.el.querySelectorAll('.tool')]
      .map((t) => (t.closest('[hidden]') ? '' : t.textContent))
      .join('|');
    if (shown !== this.shown) {
      this.shown = shown;
      this.el.classList.remove('compact');
      this.fitNames();
    }
  }
}
