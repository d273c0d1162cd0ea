// A client's privacy check before joining: somewhere private, headphones,
// and a reminder that nothing is recorded. A checklist, not a gate: the
// ticks are for the person alone and Join works without them. Hidden for
// good on this device with its button (remembered with the devices).
//
// And headphones as far as the browser tells: the names of the microphone
// in use and of the chosen (or default) speaker. A name that says
// headphones is reported; anything else is reported as not known, never
// as "no headphones". The therapist sees it on the client's tile.
import { remembered, remember } from './room-devices.js';

const $ = (id) => document.getElementById(id);

// Words device names use for something worn on or in the ears, in the
// languages browsers here are most often set to.
const WORN = /head ?phones?|head ?set|ear ?phones?|ear ?buds?|earpods|airpods|\bbuds\b|in-ear|casque|[ée]couteurs|kopfh[öo]rer|auriculares?|cuffie|auricolari|koptelefoon|oordopjes|fones de ouvido/i;

export function offerPrivacyCheck() {
  const check = $('privacy-check');
  if (!check) return;
  if (remembered().privacyCheck === 'dismissed') return;
  check.hidden = false;
  $('privacy-dismiss').addEventListener('click', () => {
    remember({ privacyCheck: 'dismissed' });
    check.hidden = true;
    // Focus goes on to the next thing to do, not to the top of the page.
    const next = $('display-name') || $('join-button');
    next.focus();
  });
}

// true when a device in use is named as headphones; null when the browser
// does not tell (no names before permission, Safari's speakers, fake devices).
export async function headphonesInUse(devices) {
  const names = [];
  const mic = devices.stream ? devices.stream.getAudioTracks()[0] : null;
  if (mic) names.push(mic.label);
  try {
    const list = await navigator.mediaDevices.enumerateDevices();
    const sink = devices.sinkId || 'default';
    const out = list.find((d) => d.kind === 'audiooutput' && d.deviceId === sink);
    if (out) names.push(out.label);
  } catch {
    // No list: the microphone's name is all there is.
  }
  return names.some((n) => WORN.test(n || '')) ? true : null;
}
