// Wires the page: sign-in (pasted token or demo patient), then the patient's sections.
import { $, el } from './dom.js';
import { api, describe } from './api.js';
import { session, claims } from './session.js';
import { initAudit } from './audit.js';
import { stopLive } from './live.js';
import { initConsents } from './consents.js';
import { initRecord } from './record.js';
import { initVerify } from './verify-view.js';
import { initDevice, newDevice } from './device-key.js';
import { load as reloadAudit } from './audit.js';
import { loadNetwork } from './names.js';

export function say(text, kind = 'error') {
  const box = $('message');
  box.className = kind;
  box.textContent = text;
}

export function fail(error) {
  say(describe(error));
  if (error?.status === 401) signOut(false);
}

function signOut(clearMessage = true) {
  stopLive();
  session.clear();
  if (clearMessage) say('', 'info');
  $('signed-in').hidden = true;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
}

async function signIn(token) {
  let c;
  try {
    c = claims(token.trim());
  } catch {
    say('That is not a token: paste the whole token your home hospital gave you.');
    return;
  }
  if (c.role !== 'patient' || !c.patient_id) {
    say('This token is not a patient\'s: this page is for patients.');
    return;
  }
  session.set(token.trim());
  const ctx = { patientId: c.patient_id, hospital: c.hospital, say, fail, device: newDevice(), reloadAudit: () => reloadAudit(true) };
  $('sign-in').hidden = true;
  $('signed-in').hidden = false;
  $('who').hidden = false;
  $('who').textContent = `Signed in as ${c.sub} (home hospital ${c.hospital})`;
  $('sign-out').hidden = false;
  say('', 'info');
  $('device-notice').hidden = true; // another patient's news, if this tab had one signed in before
  // The network's names are the first call: a token the server refuses is reported (and signs out) right here. The
  // consents and this device's key come before the trail, which names the one and marks what the other signed.
  ctx.network = await loadNetwork().catch((error) => { fail(error); return { hospitals: [], practitioners: [] }; });
  if (!session.token()) return;
  await Promise.all([initDevice(ctx), initConsents(ctx)]);
  if (!session.token()) return;
  await initAudit(ctx);
  if (!session.token()) return;
  await Promise.all([initRecord(ctx), initVerify(ctx)]);
  $('main').focus();
}

async function listDemoPatients() {
  let patients;
  try {
    patients = await api('/demo/patients');
  } catch {
    return; // No demo on this node: only the pasted token.
  }
  if (!patients?.length) return;
  $('demo-patients').replaceChildren(...patients.map((p) =>
    el('li', {}, el('button', { type: 'button', class: 'secondary', onclick: () => signIn(p.token) }, `Sign in as ${p.name}`),
      el('span', { class: 'meta' }, ` home hospital ${p.hospital}`))));
  $('demo').hidden = false;
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  signIn($('token').value);
});
$('sign-out').addEventListener('click', () => signOut());

if (session.token()) signIn(session.token());
listDemoPatients();
