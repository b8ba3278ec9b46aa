// The statement a patient's device key signs (PatientStatements.cs): the tag, then each field as a 4-byte big-endian
// length and its bytes — stream id, action, key id, signing time, then the action's own fields. Texts UTF-8 (ids NFC),
// times 100-ns ticks since the Unix epoch as 8-byte big-endian integers (an absent one: an empty field; instant() keeps
// all seven fractional digits .NET writes), a list one field of its items.
import { utf8, concat, u32, u64, instant } from './encoding.js';

const TAG = utf8('healthevents/patient-statement/v1');
const field = (bytes) => [u32(bytes.length), bytes];
const text = (s) => field(utf8(s));
const list = (items) => field(concat(items.flatMap(text)));
const time = (ticks) => field(ticks === null || ticks === undefined ? new Uint8Array(0) : u64(ticks));

/** Ticks of an ISO time; throws for text that is no time. */
export function ticks(iso) {
  const t = instant(iso);
  if (t === null) throw new Error(`'${iso}' is not a time`);
  return t;
}

/** Ticks of a time in milliseconds (Date.now()). */
export const ticksOfMillis = (ms) => BigInt(ms) * 10000n;

const FIELDS = {
  'grant-consent': (c) => [text(c.consentId), text(c.grantee.kind), text(c.grantee.id.normalize('NFC')), list(c.categories), list(c.purposes),
    list(c.actions), time(ticks(c.validFrom)), time(c.validUntil ? ticks(c.validUntil) : null)],
  // The consent as it becomes (ConsentNarrowed's own fields).
  'narrow-consent': (c) => [text(c.consentId), list(c.categories), list(c.purposes), list(c.actions), time(c.validUntil ? ticks(c.validUntil) : null)],
  'revoke-consent': (c) => [text(c.consentId)],
  forget: () => [],
  'enrol-device-key': (c) => [text(c.publicKey)],
};

/** The statement bytes of an action ('grant-consent', 'narrow-consent', 'revoke-consent', 'forget', 'enrol-device-key'), signed at signedAt (ticks). */
export function statement(patientId, action, keyId, signedAt, command) {
  const fields = FIELDS[action];
  if (!fields) throw new Error(`no statement for '${action}'`);
  return concat([TAG, ...text(`patient-${patientId}`), ...text(action), ...text(keyId), ...time(signedAt), ...fields(command).flat()]);
}

/** The action a stored event was signed as, and the command fields the statement is rebuilt from (null: none is signed). */
export function signedCommandOf(type, data) {
  switch (type) {
    case 'consent.granted.v1': return { action: 'grant-consent', command: data };
    case 'consent.narrowed.v1': return { action: 'narrow-consent', command: data };
    case 'consent.revoked.v1': return { action: 'revoke-consent', command: data };
    case 'patient.forgotten.v1': return { action: 'forget', command: {} };
    default: return null;
  }
}
