// A menu button (WAI-ARIA menu pattern): the button opens a list of actions;
// arrows move between them, Escape or Tab closes, and focus returns to the
// button. The list is positioned against the viewport so a small tile or a
// scrolling panel never clips it.
import { icon } from './room-icons.js';

let openMenu = null;

export function closeMenus() {
  if (openMenu) openMenu.close(false);
}

document.addEventListener('pointerdown', (event) => {
  if (openMenu && !openMenu.wrap.contains(event.target)) openMenu.close(false);
});
window.addEventListener('resize', closeMenus);

export class MenuButton {
  // `label`: the button's accessible name; `tip`: the short visible tooltip.
  constructor(label, tip) {
    this.wrap = document.createElement('div');
    this.wrap.className = 'menu-wrap';
    this.button = document.createElement('button');
    this.button.type = 'button';
    this.button.className = 'tool small-tool more';
    this.button.setAttribute('aria-haspopup', 'menu');
    this.button.setAttribute('aria-expanded', 'false');
    this.button.append(icon('more'));
    this.tip = document.createElement('span');
    this.tip.className = 'tip';
    this.tip.setAttribute('aria-hidden', 'true');
    this.button.append(this.tip);
    this.list = document.createElement('div');
    this.list.className = 'menu';
    this.list.setAttribute('role', 'menu');
    this.list.hidden = true;
    this.wrap.append(this.button, this.list);
    this.setLabel(label, tip);
    this.button.addEventListener('click', () => (this.list.hidden ? this.open(true) : this.close(true)));
    this.button.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        this.open(true, event.key === 'ArrowUp' ? -1 : 0);
      }
    });
    this.list.addEventListener('keydown', (event) => this.onKey(event));
  }

  setLabel(label, tip) {
    this.button.setAttribute('aria-label', label);
    this.list.setAttribute('aria-label', label);
    this.tip.textContent = tip || label;
  }

  // Adds an action; returns its element so the caller can rename or hide it.
  item(text, onChoose, cls) {
    const b = document.createElement('button');
    b.type = 'button';
    b.setAttribute('role', 'menuitem');
    b.tabIndex = -1;
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener('click', () => {
      this.close(true);
      onChoose(b);
    });
    this.list.append(b);
    return b;
  }

  items() {
    return [...this.list.querySelectorAll('[role="menuitem"]')].filter((b) => !b.hidden);
  }

  open(focusItem, index = 0) {
    if (openMenu && openMenu !== this) openMenu.close(false);
    openMenu = this;
    this.list.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.place();
    const items = this.items();
    if (focusItem && items.length) items[(index + items.length) % items.length].focus();
  }

  close(returnFocus) {
    if (this.list.hidden) return;
    this.list.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    if (openMenu === this) openMenu = null;
    if (returnFocus) this.button.focus();
  }

  place() {
    const r = this.button.getBoundingClientRect();
    const w = this.list.offsetWidth;
    const h = this.list.offsetHeight;
    let left = Math.min(r.right - w, window.innerWidth - w - 8);
    left = Math.max(8, left);
    let top = r.bottom + 4;
    if (top + h > window.innerHeight - 8) top = Math.max(8, r.top - h - 4);
    this.list.style.left = `${left}px`;
    this.list.style.top = `${top}px`;
  }

  onKey(event) {
    const items = this.items();
    const at = items.indexOf(document.activeElement);
    const go = (i) => items[(i + items.length) % items.length].focus();
    switch (event.key) {
      case 'ArrowDown': event.preventDefault(); go(at + 1); break;
      case 'ArrowUp': event.preventDefault(); go(at - 1); break;
      case 'Home': event.preventDefault(); go(0); break;
      case 'End': event.preventDefault(); go(items.length - 1); break;
      case 'Escape': event.preventDefault(); event.stopPropagation(); this.close(true); break;
      case 'Tab': this.close(false); break;
      default: break;
    }
  }
}
