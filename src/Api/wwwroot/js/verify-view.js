// "Verify my trail": fetch the stored envelopes, the key history and the latest signed tree head, verify them here,
// then check that the new tree head extends the last one this browser saw (a history rewritten between two visits
// fails this even if the rewrite is self-consistent), that the network's history still holds what this browser verified,
// that the network's founding is the one this browser saw first, and that the patient's trail still holds, unchanged,
// the last version this browser verified (a trail cut short is not "none of your events yet"). Names the first broken
// version.
import { $, el } from './dom.js';
import { api, ProblemError } from './api.js';
import { verifyStream, verifyConsistency, fromHex, parseFoundingPin } from './verify.js';
import { sha256, utf8, toHex } from './encoding.js';
import { hospitalName } from './names.js';

const named = (ids) => ids.map(hospitalName).join(', ');

// Tree heads are public ledger facts (a size and a root), not personal data: they may outlive the session.
const SEEN = 'healthevents.treeHead';

const remembered = (key) => { try { return JSON.parse(localStorage.getItem(key)); } catch { return null; } };

async function checkAgainstSeen(head, trusted) {
  const seen = remembered(SEEN);
  // Once this browser has seen a signed tree head, an answer without one is skipping the ledger, not a new network.
  if (!head) return seen
    ? { message: '', problem: `The answer carries no signed tree head, though this browser saw one of ${seen.treeSize} events before: the ledger cannot be left out.` }
    : { message: 'No signed tree head yet: the ledger was not checked.', problem: null };
  let problem = null;
  if (seen && seen.treeSize > head.treeSize) problem = `The ledger shrank: this browser saw ${seen.treeSize} events signed, now only ${head.treeSize}.`;
  else if (seen && seen.treeSize === head.treeSize && seen.rootHash !== head.rootHash) problem = `The tree head of size ${head.treeSize} changed since your last visit.`;
  else if (seen && seen.treeSize < head.treeSize) {
    let proof = null;
    try {
      proof = await api(`/ledger/proofs/consistency?from=${seen.treeSize}&to=${head.treeSize}`);
    } catch (error) {
      // A size this browser saw signed that the ledger no longer knows is itself a sign of rewriting.
      if (!(error instanceof ProblemError) || error.status !== 400) throw error;
    }
    // The old root is the one this browser remembered, never the server's copy of it.
    const ok = proof && proof.toRoot === head.rootHash
      && await verifyConsistency(seen.treeSize, head.treeSize, fromHex(seen.rootHash), fromHex(head.rootHash), proof.proof.map(fromHex));
    if (!ok) problem = `The ledger of ${head.treeSize} events does not extend the one of ${seen.treeSize} this browser saw before: history was rewritten.`;
  }
  if (!problem && trusted) localStorage.setItem(SEEN, JSON.stringify({ treeSize: head.treeSize, rootHash: head.rootHash }));
  const message = seen ? `It extends the tree head of ${seen.treeSize} events this browser saw before.` : 'This browser will remember it to check the next one.';
  return { message, problem };
}

const NETWORK = 'healthevents.network';

// The network's founding, which nothing signs — its length and last hash, `{events}:{hash}` — remembered on the first
// visit, as a node pins it (genesis.hash), and handed to the verifier on every later one. A public fact, no personal data.
const GENESIS = 'healthevents.genesis';

function seenGenesis() {
  const pin = localStorage.getItem(GENESIS);
  return parseFoundingPin(pin) ? pin : null;
}

/**
 * Pins the founding on first sight (trust on first use); never replaces one already remembered, except to complete an
 * earlier visit's pin of version 0 alone with the founding's length, once the founding verified against it.
 */
function rememberGenesis(network) {
  const seen = parseFoundingPin(seenGenesis());
  const mismatch = network.problems.some((p) => p.code === 'genesis-mismatch');
  if (network.genesis && (!seen || (seen.events === null && !mismatch))) localStorage.setItem(GENESIS, network.genesis);
}

/**
 * The network's history (the members, keys and policies every signature is judged by) is rebuilt here from the network
 * stream's own events; its founding is the one thing nothing signs. This browser remembers the last network event it
 * verified (a version and a hash, no personal data): the next answer must still hold that event, unchanged, so a
 * network history rewritten from its founding, or cut short, between two visits is caught. Returns the problems.
 */
function checkNetworkAgainstSeen(network) {
  const seen = remembered(NETWORK);
  const now = network.hashes.get(seen?.version);
  if (seen && now !== seen.hash)
    return [`The network's history changed since your last visit: its version ${seen.version} ${now === undefined ? 'is gone' : 'is not the one this browser verified'}.`];
  if (network.last && !network.problems.length) localStorage.setItem(NETWORK, JSON.stringify(network.last));
  return [];
}

/**
 * The patient's trail against the last version of it this browser verified (a version, its hash, and the last version the
 * ledger proved then; kept under a hash of the stream id, so the storage does not list whose trails were verified here):
 * a trail now shorter or different at that version was cut or rewritten; an answer whose ledger proves less of it than
 * before does not vouch for it. Returns { problems: [{ version, message }], ledgerProblems: [message], save() }.
 */
async function checkTrailAgainstSeen(streamId, result) {
  const key = `healthevents.trail.${toHex(await sha256(utf8(streamId))).slice(0, 32)}`;
  const seen = remembered(key);
  const problems = [];
  const ledgerProblems = [];
  const now = seen ? result.hashes.get(seen.version) : undefined;
  if (seen && now === undefined)
    problems.push({ version: (result.last?.version ?? -1) + 1, message: `Your trail is shorter than when this browser last verified it: ` +
      `it reached version ${seen.version}, now it ${result.last ? `ends at version ${result.last.version}` : 'is empty'}.` });
  else if (seen && now !== seen.hash)
    problems.push({ version: seen.version, message: `Version ${seen.version} of your trail is not the one this browser verified before.` });
  const proven = result.ledger.provenVersion;
  if (seen?.proven != null && (proven === null || proven < seen.proven))
    ledgerProblems.push(`The ledger proved your trail up to version ${seen.proven} before; this answer proves ${proven === null ? 'none of it' : `only up to version ${proven}`}.`);
  const save = () => { if (result.last) localStorage.setItem(key, JSON.stringify({ ...result.last, proven })); };
  return { problems, ledgerProblems, save };
}

/** What the patient signed with their own device key, checked here like the hospitals' signatures. */
function signedText(result, ctx) {
  if (!result.deviceKeys.length) return el('p', {}, 'No device key is enrolled: your consents are vouched for by your sign-in alone.');
  const mine = ctx.device?.local?.keyId;
  const ofThisDevice = result.signed.filter((s) => s.keyId === mine).length;
  const n = result.signed.length;
  return el('p', {}, `Signed by you: ${n} consent decision${n === 1 ? '' : 's'} carr${n === 1 ? 'ies' : 'y'} your device key's signature, ` +
    `and every one verifies here${mine ? ` (${ofThisDevice} made with this device's key)` : ''}.`);
}

/** The verdict's first sentence: where it broke, and whose word failed there. */
function headline(result, trail) {
  const first = result.problems.find((p) => p.version === result.firstBrokenVersion);
  if (first && ['unsigned', 'bad-patient-signature', 'bad-device-key'].includes(first.code))
    return `Broken at version ${result.firstBrokenVersion}: a change to your consents there does not carry your device key's valid signature.`;
  // A trail cut short since this browser's last visit is broken at the first version it no longer holds as it was.
  const broken = [result.firstBrokenVersion, ...trail.problems.map((p) => p.version)].filter((v) => v !== null);
  if (broken.length) return `Broken at version ${Math.min(...broken)}: your trail has been altered since the hospitals endorsed it.`;
  if (result.network.problems.some((p) => p.code === 'genesis-mismatch'))
    return 'The network\'s founding is not the one this browser saw on your first visit: its whole history, with every key and policy your trail is checked against, has been replaced.';
  if (result.network.firstBrokenVersion !== null)
    return `The network's history is broken at version ${result.network.firstBrokenVersion}: the keys and policies your trail is checked against cannot be trusted.`;
  return 'Your trail could not be confirmed: the ledger or the network\'s history does not vouch for it.';
}

export async function initVerify(ctx) {
  $('verify-run').onclick = async () => {
    const out = $('verify-result');
    out.className = '';
    out.textContent = 'Checking…';
    ctx.say('', 'info');
    try {
      const view = await api(`/patients/${ctx.patientId}/envelopes`);
      const result = await verifyStream(view, { genesisHash: seenGenesis(), patientId: ctx.patientId });
      rememberGenesis(result.network);
      const { head, provenVersion } = result.ledger;
      const seen = await checkAgainstSeen(head, !result.ledger.problems.length);
      const trail = await checkTrailAgainstSeen(`patient-${ctx.patientId.toLowerCase()}`, result);
      const ledgerProblems = [...result.ledger.problems, ...(seen.problem ? [seen.problem] : []), ...trail.ledgerProblems,
        ...checkNetworkAgainstSeen(result.network)];
      const ledgerText = head
        ? `The ledger's signed tree head of ${head.treeSize} events (endorsed by ${named(head.endorsedBy)}) includes your trail` +
          `${provenVersion === null ? ' — none of your events yet' : ` up to version ${provenVersion}`}. ${seen.message}`
        : seen.message;
      if (result.verified && !ledgerProblems.length && !trail.problems.length) {
        trail.save();
        out.className = 'ok';
        out.replaceChildren(
          el('p', {}, `Verified in your browser: all ${result.events} events link up, every hash matches the stored bytes, ` +
            `and every signature checks out (signed by ${named(result.endorsedBy)}), under the keys and policies of the ` +
            `network's own history (${result.network.events} events, verified here too).`),
          signedText(result, ctx),
          el('p', {}, ledgerText));
      } else {
        out.className = 'broken';
        out.replaceChildren(
          el('p', {}, headline(result, trail)),
          el('ul', {}, [...result.problems.map((p) => p.message), ...trail.problems.map((p) => p.message),
            ...result.network.problems.map((p) => `Network: ${p.message}`), ...ledgerProblems]
            .map((m) => el('li', {}, m))));
      }
    } catch (error) {
      out.textContent = '';
      ctx.fail(error);
    }
  };
}
