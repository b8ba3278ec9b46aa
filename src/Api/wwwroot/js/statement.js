// The statement a patient's device key signs (PatientStatements.cs): the tag, then each field as a 4-byte big-endian
// length and its bytes — stream id, action, key id, signing time, then the action's own fields. Texts UTF-8 (ids NFC),
// times Unix milliseconds as 8-byte big-endian integers (an absent one: an empty field), a list one field of its items.
import { utf8, concat, u32, u64, instant } from './encoding.js';

const TAG = utf8('healthevents/patient-statement/v1');
const field = (bytes) => [u32(bytes.length), bytes];
const text = (s) => field(utf8(s));
const list = (items) => field(concat(items.flatMap(text)));
const time = (ms) => field(ms === null || ms === undefined ? new Uint8Array(0) : u64(ms));

/** Milliseconds of an ISO time, or throws when it is not a whole millisecond (a signed time always is). */
export function millis(iso) {
  const ticks = instant(iso);
  if (ticks === null || ticks % 10000n !== 0n) throw new Error(`'${iso}' is not a whole millisecond`);
  return Number(ticks / 10000n);
}

const FIELDS = {
  'grant-consent': (c) => [text(c.consentId), text(c.grantee.kind), text(c.grantee.id.normalize('NFC')), list(c.categories), list(c.purposes),
    list(c.actions), time(millis(c.validFrom)), time(c.validUntil ? millis(c.validUntil) : null)],
  'revoke-consent': (c) => [text(c.consentId)],
  forget: () => [],
  'enrol-device-key': (c) => [text(c.publicKey)],
};

/** The statement bytes of an action ('grant-consent', 'revoke-consent', 'forget', 'enrol-device-key') on a patient's stream. */
export function statement(patientId, action, keyId, signedAtMs, command) {
  const fields = FIELDS[action];
  if (!fields) throw new Error(`no statement for '${action}'`);
  return concat([TAG, ...text(`patient-${patientId}`), ...text(action), ...text(keyId), ...time(signedAtMs), ...fields(command).flat()]);
}

/** The action a stored event was signed as, and the command fields the statement is rebuilt from (null: none is signed). */
export function signedCommandOf(type, data) {
  switch (type) {
    case 'consent.granted.v1': return { action: 'grant-consent', command: data };
    case 'consent.revoked.v1': return { action: 'revoke-consent', command: data };
    case 'patient.forgotten.v1': return { action: 'forget', command: {} };
    default: return null;
  }
}
