// "This device": the patient's own P-256 key pair, made here by WebCrypto with a private half that cannot be
// exported (extractable: false) and kept in IndexedDB, per patient. Its public half is enrolled in the patient's
// stream (POST /patients/{id}/device-key, proved by its own signature); from then on every consent change and
// forgetting carries the Patient-Signature header, which every endorser verifies. A lost device: a new key is
// enrolled by the home hospital (the page shows the request to hand over).
import { $, el, bdi, when } from './dom.js';
import { api, ProblemError, Notice } from './api.js';
import { hospitalName } from './names.js';
import { toBase64, keyIdOf } from './encoding.js';
import { statement, ticksOfMillis } from './statement.js';

const DB = 'healthevents';
const STORE = 'device-keys';

function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function stored(mode, action) {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const request = action(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

/** This device's key for the patient: { keyId, publicKey (base64 SPKI), privateKey (CryptoKey) }, or null. */
export const localKey = (patientId) => stored('readonly', (s) => s.get(patientId)).then((k) => k ?? null);

async function makeKey(patientId) {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  const key = { keyId: await keyIdOf(spki), publicKey: toBase64(spki), privateKey: pair.privateKey };
  await stored('readwrite', (s) => s.put(key, patientId));
  return key;
}

async function sign(key, bytes) {
  return toBase64(new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, bytes)));
}

/** The enrolment a key makes of itself: { publicKey, signedAt, proof }, the body of POST /patients/{id}/device-key. */
async function enrolment(patientId, key) {
  const signedAt = Date.now();
  const proof = await sign(key, statement(patientId, 'enrol-device-key', key.keyId, ticksOfMillis(signedAt), { publicKey: key.publicKey }));
  return { publicKey: key.publicKey, signedAt: new Date(signedAt).toISOString(), proof };
}

export async function initDevice(ctx) {
  const device = ctx.device;
  device.local = await localKey(ctx.patientId);
  try {
    device.enrolled = (await api(`/patients/${ctx.patientId}/device-key`)).keyId;
  } catch (error) {
    if (!(error instanceof ProblemError) || error.status !== 404) { ctx.fail(error); return; }
    device.enrolled = null;
  }
  // The enrolled key is not this device's: say who replaced it, when and why, if the trail says so.
  device.replacement = null;
  if (device.enrolled && device.local && device.local.keyId !== device.enrolled) {
    try {
      const latest = (await api(`/patients/${ctx.patientId}/audit?action=device-key-replaced&order=newest&limit=1`)).items[0];
      if (latest?.deviceKeyId === device.enrolled) device.replacement = latest;
    } catch (error) {
      ctx.fail(error);
    }
  }
  /**
   * The Patient-Signature header for a command's statement, made with this device's enrolled key; null when the patient
   * has no key (nothing to sign); throws a Notice when the key enrolled is not this device's.
   */
  device.signature = async (action, command) => {
    if (!device.enrolled) return null;
    if (device.local?.keyId !== device.enrolled) throw new Notice(device.replacement
      ? `${replacedText(device.replacement)} This device can no longer sign for you, so nothing was changed. To sign here again, enrol this device through your home hospital.`
      : 'Your consents need your device key, which is not on this device; nothing was changed. Use the device you enrolled, or ask your home hospital to enrol this one.');
    const signedAt = Math.floor(Date.now() / 1000) * 1000; // the header's created is in whole seconds
    const sig = await sign(device.local, statement(ctx.patientId, action, device.local.keyId, ticksOfMillis(signedAt), command));
    return `keyid="${device.local.keyId}", created=${signedAt / 1000}, sig=:${sig}:`;
  };
  device.refresh = () => initDevice(ctx);
  /** A device-key row of the trail as it happens (live): the card follows, and a replacement is announced. */
  device.changed = (row) => {
    device.enrolled = row.deviceKeyId;
    device.replacement = row.action === 'device-key-replaced' ? row : null;
    render(ctx);
    if (row.action !== 'device-key-replaced') return;
    const notice = $('device-notice');
    notice.replaceChildren(replacedText(row, true), ' ', device.local?.keyId === row.deviceKeyId
      ? 'The new key is this device\'s: it signs for you from now on.'
      : 'This device can no longer sign your consent changes. If you did not ask for this, tell your home hospital at once.');
    notice.hidden = false;
  };
  render(ctx);
}

/** "Your device key was replaced by Northside General Hospital (northside-admin) on …: “reason”." — as isolated nodes, or as text. */
function replacedText(row, nodes = false, subject = 'Your device key') {
  const span = el('span', {}, `${subject} was replaced by `, bdi(hospitalName(row.actor.hospital)), ' (', bdi(row.actor.id), `) on ${when(row.at)}`,
    row.reason ? [': “', bdi(row.reason), /[.!?]$/.test(row.reason) ? '”' : '”.'] : '.');
  return nodes ? span : span.textContent;
}

function render(ctx) {
  const { enrolled, local, replacement } = ctx.device;
  const status = $('device-status');
  const enrol = $('device-enrol');
  $('device-request').hidden = true;
  enrol.onclick = () => enrolThisDevice(ctx);
  if (!enrolled) {
    status.textContent = 'No device key is enrolled: your consent changes are vouched for by your sign-in alone. Enrol this device, and ' +
      'from then on every grant, revocation and forgetting needs a signature that only this device can make.';
    enrol.hidden = false;
  } else if (local?.keyId === enrolled) {
    status.textContent = `This device holds your key ${enrolled}: your consent changes are signed by you, here, and no hospital can make them without it.`;
    enrol.hidden = true;
  } else if (replacement && local) {
    status.replaceChildren(replacedText(replacement, true, `This device's key ${local.keyId}`),
      ` Your key now is ${enrolled}, which is not on this device, so this device cannot sign your consent changes. To sign here again, `
      + 'enrol this device again through your home hospital: press the button below and hand the request to its staff.');
    enrol.hidden = false;
  } else {
    status.textContent = `Your consent changes need your device key ${enrolled}, which is not on this device. Lost that device? ` +
      'Enrol this device and hand the request below to your home hospital: only it can replace your key, and the replacement shows on your trail.';
    enrol.hidden = false;
  }
}

async function enrolThisDevice(ctx) {
  const device = ctx.device;
  try {
    device.local ??= await makeKey(ctx.patientId);
    const body = await enrolment(ctx.patientId, device.local);
    if (device.enrolled && device.enrolled !== device.local.keyId) {
      // Only the home hospital replaces a key: the request is what its admin records (within 10 minutes).
      $('device-request-text').value = JSON.stringify(body);
      $('device-request').hidden = false;
      return;
    }
    await api(`/patients/${ctx.patientId}/device-key`, { method: 'POST', body });
    device.enrolled = device.local.keyId;
    ctx.say(`This device is enrolled: key ${device.enrolled}.`, 'info');
    render(ctx);
    await ctx.reloadAudit();
  } catch (error) {
    ctx.fail(error);
  }
}

export const newDevice = () => ({ local: null, enrolled: null, replacement: null, signature: async () => null, refresh: async () => {}, changed: () => {} });
