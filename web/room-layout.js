// Where each tile goes on the stage. Every tile keeps 16:9; the grid picks
// the column count that makes tiles largest for this many people in this
// window. Speaker view: one large tile and a strip below. In a 1:1 session
// the self-view is a small picture-in-picture in a corner of its owner's
// choosing (dragged there, or moved corner to corner from the keyboard).
const GAP = 8;
const RATIO = 16 / 9;
const NARROW = 600; // below this width (a phone), one column
const MIN_TILE_H = 110; // a phone's column scrolls rather than shrink further
export const CORNERS = ['br', 'bl', 'tl', 'tr'];
export const CORNER_NAMES = { br: 'bottom right', bl: 'bottom left', tl: 'top left', tr: 'top right' };

// The largest 16:9 tile size for `n` tiles in W×H.
function fitGrid(n, W, H) {
  if (W < NARROW) {
    const h = Math.max(MIN_TILE_H, Math.min(W / RATIO, (H - (n - 1) * GAP) / n));
    return { cols: 1, w: Math.min(W, h * RATIO) };
  }
  let best = { cols: 1, w: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((W - (cols - 1) * GAP) / cols, ((H - (rows - 1) * GAP) / rows) * RATIO);
    if (w > best.w) best = { cols, w };
  }
  return best;
}

// Rows of `cols`, each centred; the block centred vertically when it fits.
function placeGrid(els, x0, y0, W, H) {
  const n = els.length;
  if (!n) return y0;
  const { cols, w } = fitGrid(n, W, H);
  const h = w / RATIO;
  const rows = Math.ceil(n / cols);
  const total = rows * h + (rows - 1) * GAP;
  let y = y0 + Math.max(0, (H - total) / 2);
  for (let r = 0; r < rows; r++) {
    const row = els.slice(r * cols, (r + 1) * cols);
    let x = x0 + (W - (row.length * w + (row.length - 1) * GAP)) / 2;
    for (const el of row) {
      put(el, x, y, w, h);
      x += w + GAP;
    }
    y += h + GAP;
  }
  return y0 + Math.max(total, H);
}

// Whole pixels, rounded down: a rounded-up pixel would overflow the stage.
function put(el, x, y, w, h) {
  el.style.left = `${Math.floor(x)}px`;
  el.style.top = `${Math.floor(y)}px`;
  el.style.width = `${Math.floor(w)}px`;
  el.style.height = `${Math.floor(h)}px`;
}

// `opts`: { featured: element or null, pip: element or null, corner }.
// Returns the height the tiles need (more than the stage on a phone with many).
export function layout(container, els, opts) {
  const W = container.clientWidth;
  const H = container.clientHeight;
  if (!W || !H) return 0;
  const main = els.filter((el) => el !== opts.pip);
  let height = H;
  if (opts.featured && main.includes(opts.featured) && main.length > 1) {
    const rest = main.filter((el) => el !== opts.featured);
    const stripH = Math.max(64, Math.min(150, H * 0.2));
    const bigH = H - stripH - GAP;
    placeGrid([opts.featured], 0, 0, W, bigH);
    let w = stripH * RATIO;
    w = Math.min(w, (W - (rest.length - 1) * GAP) / rest.length);
    const h = w / RATIO;
    let x = (W - (rest.length * w + (rest.length - 1) * GAP)) / 2;
    for (const el of rest) {
      put(el, x, H - stripH + (stripH - h) / 2, w, h);
      x += w + GAP;
    }
  } else {
    height = placeGrid(main, 0, 0, W, H);
  }
  if (opts.pip) {
    const w = Math.max(128, Math.min(260, W * 0.24));
    const h = w / RATIO;
    const m = 12;
    const c = opts.corner || 'br';
    const x = c.endsWith('r') ? W - w - m : m;
    const y = c.startsWith('b') ? H - h - m : m;
    put(opts.pip, x, y, w, h);
  }
  return height;
}

// The corner nearest to a point in the container.
export function nearestCorner(container, x, y) {
  const r = container.getBoundingClientRect();
  const v = y - r.top < r.height / 2 ? 't' : 'b';
  const h = x - r.left < r.width / 2 ? 'l' : 'r';
  return v + h;
}

// Pointer dragging of the picture-in-picture; it snaps to a corner on
// release (`onDrop(corner)`). A press without movement stays a click.
export function draggable(el, container, onDrop) {
  let start = null;
  el.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || !el.classList.contains('pip') || event.target.closest('button')) return;
    start = { x: event.clientX, y: event.clientY, left: el.offsetLeft, top: el.offsetTop, moved: false };
    el.setPointerCapture(event.pointerId);
  });
  el.addEventListener('pointermove', (event) => {
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    if (!start.moved && Math.hypot(dx, dy) < 4) return;
    start.moved = true;
    el.classList.add('dragging');
    const maxX = container.clientWidth - el.offsetWidth;
    const maxY = container.clientHeight - el.offsetHeight;
    el.style.left = `${Math.min(maxX, Math.max(0, start.left + dx))}px`;
    el.style.top = `${Math.min(maxY, Math.max(0, start.top + dy))}px`;
  });
  const end = (event) => {
    if (!start) return;
    const moved = start.moved;
    start = null;
    el.classList.remove('dragging');
    if (moved) {
      const r = el.getBoundingClientRect();
      onDrop(nearestCorner(container, r.left + r.width / 2, r.top + r.height / 2));
    }
    if (el.hasPointerCapture(event.pointerId)) el.releasePointerCapture(event.pointerId);
  };
  el.addEventListener('pointerup', end);
  el.addEventListener('pointercancel', end);
}
