// Verifies a patient's stream in the browser with WebCrypto alone, as the server's StreamVerifier and
// EndorsementChecker do: contiguous versions from 0, version 0 linked to 32 zero bytes, each prevHash equal to the
// previous stored hash, each stored hash recomputed from the stored bytes (HashChain.cs's encoding), and each
// transaction's endorsement: the signed root covers the transaction hash (its last event's hash; a batch of n by its
// RFC 9162 inclusion path) and every signature (ECDSA P-256 / SHA-256, IEEE P1363 r||s) verifies under the key the
// hospital had at the transaction's time. Pure: no DOM, no fetch; give it the /patients/{id}/envelopes answer.
// Then the latest signed tree head of the global ledger (itself an endorsed event) and the RFC 9162 inclusion of the
// patient's latest covered event under it; verify-view.js adds the consistency proof from the last head this browser saw.
// Each endorsement is also judged by the policy in force at its time (policy.js), from the network timeline given.

import { satisfies } from './policy.js';

const TAG = new TextEncoder().encode('healthevents/v1');
const utf8 = (s) => new TextEncoder().encode(s);

export function fromBase64(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

export const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A GUID's 16 bytes in RFC 4122 (big-endian) order: the order of its text. */
export function uuidBytes(uuid) {
  const hex = uuid.replace(/-/g, '');
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

function u64(n) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n), false);
  return b;
}

const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

/** HashChain.ComputeHash: the tag, then each field as a 4-byte big-endian length and its bytes. */
export async function chainHash({ prevHash, streamId, version, eventId, type, data, metadata }) {
  const fields = [prevHash, utf8(streamId), u64(version), uuidBytes(eventId), utf8(type), data, metadata];
  return sha256(concat([TAG, ...fields.flatMap((f) => [u32(f.length), f])]));
}

const leafHash = (leaf) => sha256(concat([Uint8Array.of(0), leaf]));
const nodeHash = (l, r) => sha256(concat([Uint8Array.of(1), l, r]));

/** RFC 9162 2.1.3.2, as MerkleTree.VerifyInclusion. */
export async function verifyInclusion(leaf, index, size, path, root) {
  if (index < 0 || index >= size) return false;
  let fn = index, sn = size - 1, r = await leafHash(leaf);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * An ISO 8601 time as 100-ns ticks (BigInt): .NET writes up to 7 fractional digits and Date keeps milliseconds, so two
 * times within one millisecond would otherwise compare equal and a key or policy could take effect a moment early.
 */
export function instant(iso) {
  const ms = Date.parse(iso ?? '');
  if (Number.isNaN(ms)) return null;
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? '';
  return BigInt(ms) * 10000n + BigInt((fraction.slice(3, 7) || '0').padEnd(4, '0'));
}

/** The endorsement key a hospital had at a time: the last of its keys in effect by then (NetworkState.KeyAt). */
function keyAt(hospital, at) {
  let found = null;
  for (const k of hospital?.endorsementKeys ?? []) if (!k.effectiveFrom || instant(k.effectiveFrom) <= at) found = k;
  return found;
}

const importedKeys = new Map();
async function importKey(spkiBase64) {
  if (!importedKeys.has(spkiBase64))
    importedKeys.set(spkiBase64, crypto.subtle.importKey('spki', fromBase64(spkiBase64), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']));
  return importedKeys.get(spkiBase64);
}

function readJson(bytes) {
  try { return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)); } catch { return null; }
}

/**
 * Checks one transaction's endorsement: its signed root covers the hash of the transaction's last event, and each
 * signature verifies under the key its hospital had at the event's time. Resolves to the hospitals whose signatures verify.
 */
async function checkEndorsement(en, last, hospitals, report, where) {
  const metadata = readJson(last.metadata);
  const at = instant(metadata?.occurredAt);
  const root = fromBase64(en.signedRoot ?? '');
  const path = (en.inclusionPath ?? []).map(fromBase64);
  const covered = en.batchSize === 1
    ? path.length === 0 && equal(root, last.hash)
    : await verifyInclusion(last.hash, en.leafIndex, en.batchSize, path, root);
  const valid = [];
  if (!covered) report('bad-inclusion-path', `The signed root of ${where} does not cover its hash.`);
  else if (at === null) report('unreadable-metadata', `The time of ${where} cannot be read.`);
  else {
    for (const s of en.signatures ?? []) {
      const key = keyAt(hospitals.get(s.hospitalId), at);
      if (!key || key.keyId !== s.keyId) {
        report('wrong-key', `${s.hospitalId} signed ${where} with key '${s.keyId}'; its key then was '${key?.keyId ?? 'none'}'.`);
        continue;
      }
      const signature = fromBase64(s.signature ?? '');
      const ok = signature.length === 64 && await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, await importKey(key.publicKey), signature, root);
      if (!ok) report('bad-signature', `The signature of ${s.hospitalId} on ${where} does not verify.`);
      else valid.push(s.hospitalId);
    }
    if (!valid.length) report('no-valid-signature', `No hospital's signature on ${where} verifies.`);
  }
  return valid;
}

/**
 * Why the valid signers do not meet the endorsement policy in force at the transaction's time (the network as of the
 * last network event that occurred by then), or null when they do. Home: the patient's home hospital, null for none.
 */
function checkPolicy(timeline, last, valid, home) {
  if (!timeline) return null;
  const at = instant(readJson(last.metadata)?.occurredAt);
  if (at === null) return null; // reported as unreadable metadata with the signatures
  const state = timeline.filter((t) => instant(t.at) <= at).at(-1);
  if (!state) return 'no network existed at its time.';
  try {
    return satisfies(state.endorsementPolicy, valid, state.members, home)
      ? null
      : `the policy ${state.endorsementPolicy} then in force is not met by ${valid.length ? valid.join(', ') : 'nobody'}.`;
  } catch (error) {
    return `the policy then in force cannot be read: ${error.message}.`;
  }
}

const decodeEnvelope = (e) => ({
  ...e, data: fromBase64(e.data), metadata: fromBase64(e.metadata), prevHash: fromBase64(e.prevHash), hash: fromBase64(e.hash),
  endorsement: e.endorsement ? readJson(fromBase64(e.endorsement)) : null,
});

const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

/**
 * The latest signed tree head (an event of the ledger stream: its bytes hash to its stored hash, its endorsement
 * verifies) and the inclusion of the patient's latest covered event under its root. Resolves to
 * { head: { treeSize, rootHash, endorsedBy } | null, provenVersion, problems: [message] }.
 */
export async function verifyLedger(ledger, events, hospitals, timeline) {
  const problems = [];
  if (!ledger) return { head: null, provenVersion: null, problems };
  const head = decodeEnvelope(ledger.head);
  if (!equal(await chainHash({ ...head, streamId: 'ledger' }), head.hash)) problems.push('The signed tree head\'s bytes do not hash to its stored hash.');
  const endorsedBy = head.endorsement
    ? await checkEndorsement(head.endorsement, head, hospitals, (_, m) => problems.push(m), 'the signed tree head')
    : (problems.push('The tree head carries no endorsement.'), []);
  if (head.endorsement) {
    const policyProblem = checkPolicy(timeline, head, endorsedBy, null);
    if (policyProblem) problems.push(`The signed tree head: ${policyProblem}`);
  }
  const signed = readJson(head.data);
  if (!signed || typeof signed.rootHash !== 'string') return { head: null, provenVersion: null, problems: [...problems, 'The tree head cannot be read.'] };
  let provenVersion = null;
  const proof = ledger.inclusion;
  if (proof) {
    const event = events.find((e) => e.eventId === ledger.provenEventId);
    const ok = event && proof.treeSize === signed.treeSize && proof.rootHash === signed.rootHash && toHex(event.hash) === proof.leafHash
      && await verifyInclusion(event.hash, proof.leafIndex, proof.treeSize, proof.path.map(fromHex), fromHex(signed.rootHash));
    if (ok) provenVersion = event.version;
    else problems.push(`The inclusion proof of version ${event?.version ?? '?'} under the signed tree head of size ${signed.treeSize} does not verify.`);
  }
  return { head: { treeSize: signed.treeSize, rootHash: signed.rootHash, endorsedBy }, provenVersion, problems };
}

/** RFC 9162 2.1.4.2, as MerkleTree.VerifyConsistency (sizes as numbers, hashes as bytes). */
export async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  if (oldSize < 0 || oldSize > newSize) return false;
  if (oldSize === 0) return proof.length === 0;
  if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot);
  if (proof.length === 0) return false;
  const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1, sn = newSize - 1;
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}

export { fromHex };

/**
 * Verifies the envelopes view; resolves to { verified, events, firstBrokenVersion, problems: [{ version, code, message }], endorsedBy }.
 */
export async function verifyStream(view) {
  const problems = [];
  const report = (version, code, message) => problems.push({ version, code, message });
  const hospitals = new Map(view.hospitals.map((h) => [h.id, h]));
  const events = view.events.map(decodeEnvelope);

  // The chain: each event by itself and its link to the one before.
  let previous = new Uint8Array(32);
  events.forEach((e, i) => { if (e.version !== i && !problems.some((p) => p.code === 'missing-version')) report(i, 'missing-version', `Version ${i} is missing.`); });
  for (const e of events) {
    if (!equal(e.prevHash, previous)) report(e.version, 'broken-link', `Version ${e.version} does not link to the hash of the version before it.`);
    const recomputed = await chainHash({ ...e, streamId: view.streamId });
    if (!equal(recomputed, e.hash)) report(e.version, 'hash-mismatch', `The stored bytes of version ${e.version} do not hash to its stored hash.`);
    previous = e.hash;
  }

  // Endorsements, per transaction (the boundary its endorsement declares), judged by the policy of their time.
  const home = events[0]?.version === 0 ? readJson(events[0].data)?.homeHospital ?? null : null;
  const endorsedBy = new Set();
  for (let i = 0; i < events.length;) {
    const first = events[i];
    const en = first.endorsement;
    if (!en) { report(first.version, 'unendorsed', `Version ${first.version} carries no endorsement.`); i++; continue; }
    const count = en.eventCount;
    if (en.firstVersion !== first.version || !(count >= 1) || i + count > events.length) {
      report(first.version, 'transaction-boundary', `The endorsement at version ${first.version} describes ${count} events from version ${en.firstVersion}.`);
      i++; continue;
    }
    const last = events[i + count - 1];
    const valid = await checkEndorsement(en, last, hospitals, (code, message) => report(first.version, code, message), `version ${first.version}`);
    for (const h of valid) endorsedBy.add(h);
    const policyProblem = checkPolicy(view.timeline, last, valid, home);
    if (policyProblem) report(first.version, 'policy-not-met', `Version ${first.version}: ${policyProblem}`);
    i += count;
  }

  const ledger = await verifyLedger(view.ledger, events, hospitals, view.timeline);
  const broken = problems.map((p) => p.version);
  return {
    ledger,
    verified: problems.length === 0 && ledger.problems.length === 0,
    events: events.length,
    firstBrokenVersion: broken.length ? Math.min(...broken) : null,
    problems: problems.sort((a, b) => a.version - b.version),
    endorsedBy: [...endorsedBy].sort(),
  };
}
