// The room's icons: simple strokes on a 24×24 grid, drawn in currentColor so
// they follow the button's text colour (and forced-colours modes).
const NS = 'http://www.w3.org/2000/svg';

const PATHS = {
  mic: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z M5 11a7 7 0 0 0 14 0 M12 18v3',
  micOff: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z M5 11a7 7 0 0 0 14 0 M12 18v3 M3 3l18 18',
  cam: 'M3 7h12v10H3z M15 10l6-3v10l-6-3',
  camOff: 'M3 7h12v10H3z M15 10l6-3v10l-6-3 M2 3l20 18',
  screen: 'M3 4h18v12H3z M8 20h8 M12 16v4 M9 10l3-3 3 3 M12 7v6',
  grid: 'M4 4h7v7H4z M13 4h7v7h-7z M4 13h7v7H4z M13 13h7v7h-7z',
  speaker: 'M3 4h18v11H3z M4 18h4v2H4z M10 18h4v2h-4z M16 18h4v2h-4z',
  chat: 'M4 5h16v11H9l-5 4z',
  people: 'M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z M2 20c0-4 3-6 7-6s7 2 7 6 M16 4.5a3.5 3.5 0 0 1 0 6.5 M18 14c2.5.6 4 2.6 4 6',
  hand: 'M8 13V5.5a1.5 1.5 0 0 1 3 0V11 M11 10V4.5a1.5 1.5 0 0 1 3 0V11 M14 10.5V6a1.5 1.5 0 0 1 3 0v7c0 4.5-2.5 8-7 8-3 0-4.5-1.5-6-4l-1.5-3a1.5 1.5 0 0 1 2.6-1.5L8 15',
  lock: 'M6 11h12v9H6z M8.5 11V8a3.5 3.5 0 0 1 7 0v3',
  unlock: 'M6 11h12v9H6z M8.5 11V8a3.5 3.5 0 0 1 6.8-1.2',
  leave: 'M14 4h5v16h-5 M10 8l-4 4 4 4 M6 12h10',
  end: 'M3 14c5-4.5 13-4.5 18 0l-2.5 3-3.5-1.5v-3a9 9 0 0 0-6 0v3L5.5 17z',
  more: 'M5 12h.01 M12 12h.01 M19 12h.01',
  close: 'M6 6l12 12 M18 6L6 18',
  pin: 'M9 3h6 M10 3v6l-3 4h10l-3-4V3 M12 13v8',
  move: 'M12 3v18 M3 12h18 M12 3l-3 3 M12 3l3 3 M12 21l-3-3 M12 21l3-3 M3 12l3-3 M3 12l3 3 M21 12l-3-3 M21 12l-3 3',
  send: 'M4 12l16-8-6 16-2-6z',
  // A speaker with sound waves: audio only.
  audio: 'M11 5L6 9H3v6h3l5 4z M15.5 8.5a5 5 0 0 1 0 7 M18.5 5.5a9 9 0 0 1 0 13',
  // Settings (sound) and headphones (the pre-call privacy check).
  settings: 'M4 7h9 M17 7h3 M15 5v4 M4 12h3 M11 12h9 M9 10v4 M4 17h11 M19 17h1 M17 15v4',
  headphones: 'M4 16v-4a8 8 0 0 1 16 0v4 M4 15h3v5H4z M17 15h3v5h-3z',
  // A dot between two arrows: bilateral stimulation.
  bilateral: 'M12 9.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z M2 12h5 M17 12h5 M2 12l2.5-2.5 M2 12l2.5 2.5 M22 12l-2.5-2.5 M22 12l-2.5 2.5',
  blur: 'M12 4a4 4 0 1 0 0 8 4 4 0 0 0 0-8z M5 21c0-4 3-6.5 7-6.5s7 2.5 7 6.5 M2 4h.01 M2 9h.01 M2 14h.01 M22 4h.01 M22 9h.01 M22 14h.01',
};

export function icon(name, cls = 'icon') {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', PATHS[name] || '');
  svg.append(path);
  return svg;
}

// Replaces the icon inside `el` (its first svg) with another.
export function setIcon(el, name) {
  const old = el.querySelector('svg.icon');
  const fresh = icon(name);
  if (old) old.replaceWith(fresh);
  else el.prepend(fresh);
}
