// Verifies a patient's stream in the browser with WebCrypto alone, as the server's StreamVerifier and
// EndorsementChecker do: contiguous versions from 0, version 0 linked to 32 zero bytes, each prevHash equal to the
// previous stored hash, each stored hash recomputed from the stored bytes (HashChain.cs's encoding), and each
// transaction's endorsement: the signed root covers the transaction hash (its last event's hash; a batch of n by its
// RFC 9162 inclusion path), every signer was a member then, and every signature (ECDSA P-256 / SHA-256, IEEE P1363
// r||s) verifies under the key the hospital had at the transaction's time; the valid signers meet the policy then in
// force (policy.js). Keys, members and policies come from the network stream's own stored events, verified the same
// way (its founding alone unendorsed, and trusted only as the founding pinned before, given as genesisHash) and folded
// here (network.js): the server's word is never taken for them, and they count only as far as the network stream
// verifies (judgedBy, as VerifiedNetwork.cs): a member or key forged into it past endorsement vouches for nothing.
// The patient's own device-key signatures (patient.command-signed.v1) are checked against the key their stream
// enrolled, by the rules PatientSignatureChecker.cs applies on the server (same problem codes).
// Then the latest signed tree head of the global ledger (itself an endorsed event) and the RFC 9162 inclusion of the
// patient's latest covered event under it; verify-view.js adds the consistency proof from the last head this browser saw.
// Pure: no DOM, no fetch; give it the /patients/{id}/envelopes answer.

import { satisfies } from './policy.js';
import { networkHistory, keyAt, membersOf } from './network.js';
import { statement, signedCommandOf } from './statement.js';
import { utf8, fromBase64, toHex, fromHex, equal, concat, u32, u64, sha256, instant, readJson, uuidBytes, keyIdOf, verifies } from './encoding.js';

export { fromBase64, toHex, fromHex, instant, uuidBytes };

const TAG = utf8('healthevents/v1');
const GENESIS_ACTOR = 'genesis';

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

const decodeEnvelope = (e) => ({
  ...e, data: fromBase64(e.data), metadata: fromBase64(e.metadata), prevHash: fromBase64(e.prevHash), hash: fromBase64(e.hash),
  endorsement: e.endorsement ? readJson(fromBase64(e.endorsement)) : null,
});

/**
 * One copy of a transaction's endorsement (EndorsementChecker.CheckCopy): its signed root covers the hash of the
 * transaction's last event; each signer was a member of `state` and signed with the endorsement key it had at `at`;
 * with `requirePolicy`, the valid signers meet the policy of `state`. Resolves to the hospitals whose signatures verify.
 */
async function checkEndorsement(en, last, state, at, home, requirePolicy, report, where) {
  const root = fromBase64(en.signedRoot ?? '');
  const path = (en.inclusionPath ?? []).map(fromBase64);
  const covered = en.batchSize === 1
    ? path.length === 0 && equal(root, last.hash)
    : await verifyInclusion(last.hash, en.leafIndex, en.batchSize, path, root);
  if (!covered) { report('bad-inclusion-path', `The signed root of ${where} does not cover its hash.`); return []; }
  const valid = [];
  for (const s of en.signatures ?? []) {
    if (!state.hospitals.has(s?.hospitalId)) { report('unknown-endorser', `${where} is signed by '${s?.hospitalId}', which was not a member then.`); continue; }
    const key = keyAt(state, s.hospitalId, at);
    if (!key || key.keyId !== s.keyId) {
      report('wrong-key', `${s.hospitalId} signed ${where} with key '${s.keyId}'; its key then was '${key?.keyId ?? 'none'}'.`);
      continue;
    }
    if (!await verifies(key.publicKey, s.signature, root)) report('bad-signature', `The signature of ${s.hospitalId} on ${where} does not verify.`);
    else valid.push(s.hospitalId);
  }
  if (!requirePolicy) return valid;
  try {
    if (!satisfies(state.policy, valid, membersOf(state), home))
      report('policy-not-met', `${where}: the policy ${state.policy} then in force is not met by ${valid.length ? valid.join(', ') : 'nobody'}.`);
  } catch (error) {
    report('policy-not-met', `${where}: the policy then in force cannot be read: ${error.message}.`);
  }
  return valid;
}

/** EndorsementChecker.NetworkChangeGrace, in 100-ns ticks: 3 minutes. */
const NETWORK_CHANGE_GRACE = 3n * 60n * 10_000_000n;

/**
 * EndorsementChecker.CheckCopyDuringGrace: `states` are the networks a transaction may have been endorsed under (the
 * one at its time first); the first under which `check` reports nothing wins, else the first's problems are reported.
 */
async function checkDuringGrace(states, check, report) {
  let first = null;
  let firstValid = [];
  for (const state of states) {
    const found = [];
    const valid = await check(state, (code, message) => found.push([code, message]));
    if (found.length === 0) return valid;
    if (first === null) { first = found; firstValid = valid; }
  }
  for (const [code, message] of first) report(code, message);
  return firstValid;
}

/** No tree head dates anything: a stream read without the global log's order. */
const NO_DATING = { storedAfter: () => null, tolerance: 0n };

/** EndorsementChecker.BackdateToleranceFor the default clock skew (2 x 2 min + 1 min), in 100-ns ticks: 5 minutes. */
const DEFAULT_BACKDATE_TOLERANCE = 5n * 60n * 10_000_000n;

/**
 * EndorsementChecker.DatedByTheLog: the time a transaction is judged at. Its own (`at`), unless the latest endorsed tree
 * head stored before its last event (`dating.storedAfter(lastVersion)`) is stamped more than `dating.tolerance` later:
 * then it is 'backdated', and judged as of the earliest time an honest transaction stored there could carry.
 */
function datedByTheLog(dating, lastVersion, at, stamped, report) {
  const head = dating.storedAfter(lastVersion);
  if (head === null || at >= head - dating.tolerance) return at;
  report('backdated', `Stamped ${stamped}, but stored after a ledger tree head endorsed ${(head - at) / 10_000_000n} s later: ` +
    `more than ${dating.tolerance / 10_000_000n} s earlier than an honest transaction stored there can be.`);
  return head - dating.tolerance;
}

/**
 * A tree head as the ledger stream stores it, checked as any event of it: its bytes hash to its stored hash, its
 * endorsement describes it alone and verifies under `network` (as EndorsementChecker checks a ledger transaction).
 * Resolves to { at, endorsedBy, problems: [message] }.
 */
async function checkHead(head, network, what) {
  const problems = [];
  if (!equal(await chainHash({ ...head, streamId: 'ledger' }), head.hash)) problems.push(`${what}'s bytes do not hash to its stored hash.`);
  const at = instant(readJson(head.metadata)?.occurredAt);
  const en = head.endorsement;
  if (en && (en.firstVersion !== head.version || en.eventCount !== 1)) problems.push(`${what}'s endorsement describes other events than it.`);
  const endorsedBy = !en ? (problems.push(`${what} carries no endorsement.`), [])
    : at === null ? (problems.push(`The time of ${what.toLowerCase()} cannot be read.`), [])
      : await checkDuringGrace(network.statesDuring(at - NETWORK_CHANGE_GRACE, at),
        (state, reportTo) => checkEndorsement(en, head, state, at, null, true, reportTo, what.toLowerCase()), (_, m) => problems.push(m));
  return { at, endorsedBy, problems };
}

/**
 * The dating of the /envelopes answer (`view.dating`: the heads stored before the patient's ledgered events): each head
 * counts only once it checks (checkHead); the tolerance is the node's (toleranceSeconds), else the default's. As
 * StoredAfterChecker on the server: { storedAfter(version) → ticks | null, tolerance }.
 */
async function datingOf(dating, network) {
  if (!dating || !Array.isArray(dating.heads) || !Array.isArray(dating.before)) return NO_DATING;
  const times = new Map();
  for (const h of dating.heads) {
    let head;
    try { head = decodeEnvelope(h); } catch { continue; }
    const { at, problems } = await checkHead(head, network, 'A tree head');
    if (problems.length === 0 && at !== null) times.set(head.eventId, at);
  }
  // Each version by the latest time among the heads of its window that check (the head before it and those just before
  // that one in the ledger stream), and of the windows of the versions before it, which were stored before it too.
  const byVersion = new Map();
  let latest = null;
  for (const b of [...dating.before].filter((b) => b && Number.isSafeInteger(b.version)).sort((x, y) => x.version - y.version)) {
    const ids = Array.isArray(b.windowEventIds) ? b.windowEventIds : [b.headEventId];
    for (const id of ids) if (times.has(id) && (latest === null || times.get(id) > latest)) latest = times.get(id);
    if (latest !== null) byVersion.set(b.version, latest);
  }
  const seconds = Number(dating.toleranceSeconds);
  const tolerance = Number.isFinite(seconds) && seconds >= 0 ? BigInt(Math.round(seconds * 10_000_000)) : DEFAULT_BACKDATE_TOLERANCE;
  return { storedAfter: (version) => byVersion.get(version) ?? null, tolerance };
}

/**
 * One stream's chain and endorsements. `stateOf(firstVersion, at)` gives the network a transaction is judged under;
 * `founding`: the network stream, whose founding stands unendorsed: versions 0 to `foundingEvents` - 1 when the pin
 * gives its length, else its first command (by the genesis actor, under version 0's command id); `dating`: the tree
 * heads stored before its events (datingOf), by which a transaction stamped back is 'backdated'.
 * Resolves to { events, problems: [{ version, code, message }], firstBrokenVersion, endorsedBy }.
 */
async function checkStream(streamId, events, { stateOf, home = null, founding = false, foundingEvents = null, dating = NO_DATING }) {
  const problems = [];
  const report = (version, code, message) => problems.push({ version, code, message });

  // The chain: each event by itself and its link to the one before.
  let previous = new Uint8Array(32);
  events.forEach((e, i) => { if (e.version !== i && !problems.some((p) => p.code === 'missing-version')) report(i, 'missing-version', `Version ${i} is missing.`); });
  for (const e of events) {
    if (!equal(e.prevHash, previous)) report(e.version, 'broken-link', `Version ${e.version} does not link to the hash of the version before it.`);
    if (!equal(await chainHash({ ...e, streamId }), e.hash)) report(e.version, 'hash-mismatch', `The stored bytes of version ${e.version} do not hash to its stored hash.`);
    previous = e.hash;
  }

  // Endorsements, per transaction (the boundary its endorsement declares), judged by the network of their time.
  const endorsedBy = new Set();
  let foundingCommand = null;
  for (let i = 0; i < events.length;) {
    const first = events[i];
    const en = first.endorsement;
    const count = en ? en.eventCount : 1;
    if (en && (en.firstVersion !== first.version || !(count >= 1) || i + count > events.length)) {
      report(first.version, 'transaction-boundary', `The endorsement at version ${first.version} describes ${count} events from version ${en.firstVersion}.`);
      i++; continue;
    }
    const last = events[i + count - 1];
    const metadata = readJson(last.metadata);
    const at = instant(metadata?.occurredAt);
    const where = `version ${first.version}`;
    if (at === null) { report(first.version, 'unreadable-metadata', `The time of ${where} cannot be read.`); i += count; continue; }
    // The network's founding: the pinned versions, else its first command, by the genesis actor (NetworkFounding).
    const genesis = founding && (foundingEvents !== null
      ? last.version < foundingEvents
      : metadata.actorId === GENESIS_ACTOR && (first.version === 0 || metadata.commandId === foundingCommand));
    if (founding) foundingCommand = genesis ? metadata.commandId : null;
    const judgedAt = genesis ? at : datedByTheLog(dating, last.version, at, metadata.occurredAt, (code, message) => report(first.version, code, message));
    if (!en) {
      if (!genesis) report(first.version, 'unendorsed', `Version ${first.version} carries no endorsement.`);
      i++; continue;
    }
    const valid = await checkDuringGrace(stateOf(first.version, judgedAt), (state, reportTo) =>
      checkEndorsement(en, last, state, judgedAt, home, !genesis, reportTo, where), (code, message) => report(first.version, code, message));
    for (const h of valid) endorsedBy.add(h);
    i += count;
  }
  const broken = problems.map((p) => p.version);
  return {
    events: events.length,
    problems: problems.sort((a, b) => a.version - b.version),
    firstBrokenVersion: broken.length ? Math.min(...broken) : null,
    endorsedBy: [...endorsedBy].sort(),
  };
}

/**
 * The patient's own signatures: each device key enrolled or replaced proves itself (its signature of its enrolment
 * statement), and each patient.command-signed.v1 verifies, under the key enrolled then, over the statement rebuilt from
 * the event just before it (same command). Once a key is enrolled, every consent change or forgetting must be signed.
 * Problems are reported at the version where the signature is (or should be). Resolves to { signed: [{ version, keyId }], keys, problems }.
 */
async function checkPatientSignatures(patientId, events) {
  const problems = [];
  const signed = [];
  const keys = [];
  let key = null;
  const commandOf = (e) => readJson(e.metadata)?.commandId;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const data = readJson(e.data);
    if (!data) continue; // unreadable: the chain check reports it
    if (e.type === 'patient.device-key-enrolled.v1' || e.type === 'patient.device-key-replaced.v1') {
      const spki = (() => { try { return fromBase64(data.publicKey); } catch { return new Uint8Array(0); } })();
      const ok = await keyIdOf(spki) === data.keyId && await verifies(data.publicKey, data.proof,
        statement(patientId, 'enrol-device-key', data.keyId, instant(data.signedAt), { publicKey: data.publicKey }));
      if (!ok) problems.push({ version: e.version, code: 'bad-device-key', message: `The device key enrolled at version ${e.version} does not prove itself.` });
      key = { keyId: data.keyId, publicKey: data.publicKey };
      keys.push({ version: e.version, keyId: data.keyId, replaced: e.type.includes('replaced') });
      continue;
    }
    if (e.type === 'patient.command-signed.v1') {
      const before = events[i - 1];
      const command = before && commandOf(before) === commandOf(e) ? signedCommandOf(before.type, readJson(before.data)) : null;
      let ok = false;
      try {
        ok = !!command && !!key && command.action === data.action && key.keyId === data.keyId
          && await verifies(key.publicKey, data.signature, statement(patientId, data.action, data.keyId, instant(data.signedAt), command.command));
      } catch { ok = false; }
      if (ok) signed.push({ version: before.version, keyId: data.keyId });
      else problems.push({ version: e.version, code: 'bad-patient-signature', message: `Your signature at version ${e.version} does not verify under your device key of the time.` });
      continue;
    }
    const next = events[i + 1];
    if (key && signedCommandOf(e.type, data) && !(next?.type === 'patient.command-signed.v1' && commandOf(next) === commandOf(e)))
      problems.push({ version: e.version + 1, code: 'unsigned', message: `Version ${e.version} changes your consents without your device key's signature.` });
  }
  return { signed, keys, problems };
}

// A tree head is signed every few seconds over what the ledger has taken in: an event this much older than a head's own
// time is one the head must cover (a ledger that far behind is itself something to look into).
const LEDGER_DUE = 10n * 60n * 10_000_000n; // ten minutes in 100-ns ticks

/**
 * The latest signed tree head (an event of the ledger stream: its bytes hash to its stored hash, its endorsement
 * verifies) and the inclusion of the patient's latest covered event under its root. That event must be in the trail
 * (the server names it even when the stream no longer holds it), and every event from well before the head's time must
 * be covered by it: an answer without the proof, or with the proof of an earlier event, is not taken for "not yet".
 * Resolves to { head: { treeSize, rootHash, at, endorsedBy } | null, provenVersion, problems: [message],
 * streamProblems: [{ version, code, message }] }.
 */
export async function verifyLedger(ledger, events, network) {
  const problems = [];
  const streamProblems = [];
  if (!ledger) return { head: null, provenVersion: null, problems, streamProblems };
  const head = decodeEnvelope(ledger.head);
  const checked = await checkHead(head, network, 'The signed tree head');
  problems.push(...checked.problems);
  const { endorsedBy } = checked;
  const signed = readJson(head.data);
  if (!signed || typeof signed.rootHash !== 'string') return { head: null, provenVersion: null, problems: [...problems, 'The tree head cannot be read.'], streamProblems };
  let provenVersion = null;
  const proof = ledger.inclusion;
  if (proof) {
    const event = events.find((e) => e.eventId === ledger.provenEventId);
    const named = Number.isInteger(ledger.provenVersion) ? ledger.provenVersion : null;
    if (!event && named !== null) {
      const other = events.find((e) => e.version === named);
      streamProblems.push(other
        ? { version: named, code: 'ledger-mismatch', message: `Version ${named} is not the event the ledger's signed tree head includes at that version.` }
        : { version: named, code: 'missing-event', message: `Version ${named} is gone from your trail, though the ledger's signed tree head includes it: events were deleted.` });
    } else {
      const ok = event && proof.treeSize === signed.treeSize && proof.rootHash === signed.rootHash && toHex(event.hash) === proof.leafHash
        && await verifyInclusion(event.hash, proof.leafIndex, proof.treeSize, proof.path.map(fromHex), fromHex(signed.rootHash));
      if (ok) provenVersion = event.version;
      else problems.push(`The inclusion proof of version ${event?.version ?? '?'} under the signed tree head of size ${signed.treeSize} does not verify.`);
    }
  }
  const signedAt = instant(signed.at);
  const due = signedAt === null ? undefined : events.findLast((e) => {
    const occurred = instant(readJson(e.metadata)?.occurredAt);
    return occurred !== null && occurred + LEDGER_DUE <= signedAt;
  });
  if (due && !streamProblems.length && (provenVersion === null || provenVersion < due.version))
    problems.push(`The ledger's signed tree head of ${signed.at} must include your trail up to version ${due.version} at least, ` +
      `but the answer proves ${provenVersion === null ? 'none of it' : `only up to version ${provenVersion}`}.`);
  return { head: { treeSize: signed.treeSize, rootHash: signed.rootHash, at: signed.at, endorsedBy }, provenVersion, problems, streamProblems };
}

/**
 * A founding pin as a node writes it (genesis.hash, FoundingPin): `{events}:{hash}` — the founding's length and its last
 * event's hash — or an earlier release's 64 hex digits of version 0's hash alone ({ events: null }). Null for anything else.
 */
export function parseFoundingPin(text) {
  const match = /^(?:([1-9][0-9]*):)?([0-9a-f]{64})$/.exec(String(text ?? '').trim().toLowerCase());
  return match ? { events: match[1] ? Number(match[1]) : null, hash: match[2] } : null;
}

/**
 * The founding nobody endorses is trusted only as the one pinned (NetworkGenesisPin on a node; this browser's memory on
 * the page): the founding's last pinned event (or version 0, for a pin of version 0 alone) must have the pinned hash,
 * and the stream must reach it; and every event the pin covers must be the founding command's (`overreach`). Else
 * 'genesis-mismatch' at version 0.
 */
function checkGenesis(network, networkEvents, pin) {
  if (!pin || networkEvents.length === 0) return;
  const found = [];
  const at = pin.events === null ? 0 : pin.events - 1;
  const pinned = networkEvents.find((e) => e.version === at);
  const text = pin.events === null ? pin.hash : `${pin.events}:${pin.hash}`;
  if (!pinned || toHex(pinned.hash) !== pin.hash) {
    const start = toHex(networkEvents.find((e) => e.version === 0)?.hash ?? new Uint8Array(0));
    const end = pinned ? `its founding ends at version ${at} in hash ${toHex(pinned.hash)}` : `the stream ends before version ${at}`;
    found.push({ version: 0, code: 'genesis-mismatch',
      message: `Version 0 of the network has hash ${start}; ${end}, not the founding ${text} trusted before: every key and policy in it is someone else's.` });
  }
  const over = overreach(networkEvents, pin);
  if (over) {
    found.push({ version: 0, code: 'genesis-mismatch',
      message: `The founding trusted before (${text}) counts version ${over.version} of the network stream as part of its founding, but ${over.why}: ` +
        "a pin covers only the founding command's events (unendorsed, made by the genesis actor under version 0's command id), " +
        'and this one would exempt a later transaction from endorsement. Check it against a member you trust (./run.sh verify prints it last).' });
  }
  if (found.length === 0) return;
  network.problems = [...found, ...network.problems];
  network.firstBrokenVersion = 0;
}

/**
 * Why an event a complete pin covers is none of the founding, as NetworkFounding.NotFounding tells it: a pin lengthened
 * over a later transaction would count that transaction as founding, exempt from endorsement. Resolves the first such
 * event to { version, why }, or null when every covered event is unendorsed and made by the genesis actor under version
 * 0's command id (a pin of version 0 alone covers nothing more).
 */
function overreach(networkEvents, pin) {
  if (pin?.events == null) return null;
  let command = null; // version 0's, when the genesis actor made it
  for (const e of networkEvents) {
    if (e.version >= pin.events) break;
    const metadata = readJson(e.metadata);
    const byGenesis = metadata?.actorId === GENESIS_ACTOR && Boolean(metadata.commandId);
    if (e.version === 0 && byGenesis) command = metadata.commandId;
    const why = e.endorsement ? 'it carries an endorsement'
      : !byGenesis ? 'it was not made by the genesis actor'
      : metadata.commandId !== command ? 'it belongs to another command than version 0' : null;
    if (why) return { version: e.version, why };
  }
  return null;
}

/**
 * The founding to remember on a first visit, as a node pins it: `{events}:{hash}` of the network's first command (the
 * events from version 0 on by the genesis actor under one command id), or the given pin's length when it has one.
 */
function foundingPinOf(networkEvents, pin) {
  const events = pin?.events ?? foundingEnd(networkEvents, null);
  const last = networkEvents.find((e) => e.version === events - 1);
  return events > 0 && last ? `${events}:${toHex(last.hash)}` : null;
}

/**
 * The network events the patient's transactions (and the ledger's tree head) are judged by, as VerifiedNetwork.cs does:
 * the network only as far as it verifies. From the first broken version on — widened to the start of the endorsed
 * transaction it is in — nothing counts: a member, key or policy written into the store past endorsement (and all after
 * it) vouches for nobody, so a forged member's signature is 'unknown-endorser' and does not help meet the policy. When the
 * founding itself fails (before `foundingEnd`), no network verifies and that one problem already voids every signature:
 * the stream as read is used, so each transaction is not reported again as signed by "no member".
 */
function judgedBy(networkEvents, network, pin) {
  const broken = network.firstBrokenVersion;
  if (broken === null) return networkEvents;
  const start = networkEvents.find((e) => e.version === broken)?.endorsement?.firstVersion;
  const cut = Number.isInteger(start) && start < broken ? start : broken;
  return cut < foundingEnd(networkEvents, pin) ? networkEvents : networkEvents.filter((e) => e.version < cut);
}

/**
 * The version after the founding's last, as NetworkFounding tells it: a complete pin's length (as far as the stream
 * goes), else the first command — the events from version 0 on, in order, by the genesis actor under one command id.
 */
function foundingEnd(networkEvents, pin) {
  let end = 0;
  let command = null;
  for (const e of networkEvents) {
    if (pin?.events != null) {
      if (e.version >= pin.events) break;
    } else {
      const metadata = readJson(e.metadata);
      if (e.version !== end || metadata?.actorId !== GENESIS_ACTOR || !metadata.commandId || (command !== null && metadata.commandId !== command)) break;
      command = metadata.commandId;
    }
    end = e.version + 1;
  }
  return end;
}

/**
 * Verifies the envelopes view of the patient `patientId`: that it is their stream (its id and every event's), the
 * network stream first (its chain, each change endorsed under the network before it, and, given `genesisHash` (a pin:
 * `{events}:{hash}`, or version 0's hash alone), its founding against it), then the patient's stream under the network so rebuilt, the patient's own signatures, and
 * the ledger. Resolves to { verified, events, firstBrokenVersion, problems, endorsedBy, signed, deviceKeys, hashes:
 * Map(version, hex), last: { version, hash } | null, network: { events, firstBrokenVersion, problems, hashes, last,
 * genesis: `{events}:{hash}` | null }, ledger }.
 */
export async function verifyStream(view, { genesisHash = null, patientId } = {}) {
  const networkEvents = view.network.map(decodeEnvelope);
  const history = networkHistory(networkEvents);
  const pin = parseFoundingPin(genesisHash);
  const network = await checkStream('network', networkEvents,
    { stateOf: (version) => [history.stateBefore(version)], founding: true, foundingEvents: pin?.events ?? null });
  checkGenesis(network, networkEvents, pin);
  Object.assign(network, summary(networkEvents));
  network.genesis = foundingPinOf(networkEvents, pin);

  const events = view.events.map(decodeEnvelope);
  // Another patient's stream, however intact, says nothing about this patient's trail.
  const expected = patientId === undefined ? view.streamId : `patient-${String(patientId).toLowerCase()}`;
  const wrong = view.streamId !== expected ? { version: 0, streamId: view.streamId }
    : events.find((e) => e.streamId !== undefined && e.streamId !== view.streamId);
  const home = events[0]?.version === 0 ? readJson(events[0].data)?.homeHospital ?? null : null;
  const judge = networkHistory(judgedBy(networkEvents, network, pin));
  const dating = await datingOf(view.dating, judge);
  const patient = await checkStream(view.streamId, events, { stateOf: (_, at) => judge.statesDuring(at - NETWORK_CHANGE_GRACE, at), home, dating });
  const signatures = await checkPatientSignatures(view.streamId.replace(/^patient-/, ''), events);
  const ledger = await verifyLedger(view.ledger, events, judge);
  const problems = [...patient.problems, ...signatures.problems, ...ledger.streamProblems,
    ...(wrong ? [{ version: wrong.version, code: 'wrong-stream', message: `This answer holds the stream '${wrong.streamId}', not yours ('${expected}').` }] : []),
  ].sort((a, b) => a.version - b.version);
  const broken = problems.map((p) => p.version);
  return {
    ledger,
    network,
    verified: problems.length === 0 && network.problems.length === 0 && ledger.problems.length === 0,
    events: events.length,
    firstBrokenVersion: broken.length ? Math.min(...broken) : null,
    problems,
    endorsedBy: patient.endorsedBy,
    signed: signatures.signed,
    deviceKeys: signatures.keys,
    ...summary(events),
  };
}

/** Each version's stored hash (hex) and the last event: what a later visit compares its answer with. */
function summary(events) {
  const last = events.at(-1);
  return { hashes: new Map(events.map((e) => [e.version, toHex(e.hash)])), last: last ? { version: last.version, hash: toHex(last.hash) } : null };
}
