// Before joining: the connectivity check (room-probe.js) with its result in
// words, and the join form (display name, the group's confidentiality
// acknowledgement). The device check itself is room-devices.js.
import { Probe } from './room-probe.js';

const $ = (id) => document.getElementById(id);

const PROBE_RESULTS = {
  udp: 'Connected to the video server. Video and sound get through your network.',
  tcp: 'Connected to the video server. Your network blocks the fastest route, so video takes a slower one and may be less smooth.',
  relay: 'Connected to the video server through a relay. Video and sound get through your network.',
};

// Opens the socket and runs the check. Returns { probe() }: the check, once
// it runs, so the coordinator can hand it its messages.
export function startPrecall(signal, devices, onJoin) {
  const devicesReady = devices.start().catch(() => null);
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
    onJoin();
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

  return { probe: () => probe };
}

// The server refused the name or the acknowledgement: say why, allow again.
export function joinRefused(message) {
  $('join-error').textContent = message;
  $('join-error').hidden = false;
  $('join-button').disabled = false;
}
