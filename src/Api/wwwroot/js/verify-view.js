// "Verify my trail": fetch the stored envelopes, the key history and the latest signed tree head, verify them here,
// then check that the new tree head extends the last one this browser saw (a history rewritten between two visits
// fails this even if the rewrite is self-consistent), and that no key seen before has left the key history.
// Names the first broken version.
import { $, el } from './dom.js';
import { api, ProblemError } from './api.js';
import { verifyStream, verifyConsistency, fromHex } from './verify.js';

// Tree heads are public ledger facts (a size and a root), not personal data: they may outlive the session.
const SEEN = 'healthevents.treeHead';

async function checkAgainstSeen(head) {
  if (!head) return { message: 'No signed tree head yet: the ledger was not checked.', problem: null };
  let seen = null;
  try { seen = JSON.parse(localStorage.getItem(SEEN)); } catch { seen = null; }
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
  if (!problem) localStorage.setItem(SEEN, JSON.stringify({ treeSize: head.treeSize, rootHash: head.rootHash }));
  const message = seen ? `It extends the tree head of ${seen.treeSize} events this browser saw before.` : 'This browser will remember it to check the next one.';
  return { message, problem };
}

const KEYS = 'healthevents.keys';

/**
 * Trust on first use for the network's key history, which the server supplies: keys seen on an earlier visit must
 * still be there with the same start (a rotation adds a key, it never removes or moves one). Returns the problems.
 */
function checkKeysAgainstSeen(hospitals) {
  let seen = {};
  try { seen = JSON.parse(localStorage.getItem(KEYS)) ?? {}; } catch { seen = {}; }
  const now = Object.fromEntries(hospitals.map((h) => [h.id, Object.fromEntries(h.endorsementKeys.map((k) => [k.keyId, k.effectiveFrom ?? '']))]));
  const problems = [];
  for (const [hospital, keys] of Object.entries(seen))
    for (const [keyId, from] of Object.entries(keys))
      if (now[hospital]?.[keyId] !== from)
        problems.push(`The key history changed since your last visit: ${hospital}'s key '${keyId}' ${now[hospital]?.[keyId] === undefined ? 'is gone' : 'took effect at another time'}.`);
  if (!problems.length) {
    // Remember the union, so a later answer cannot drop a key by leaving it out.
    for (const [hospital, keys] of Object.entries(now)) seen[hospital] = { ...(seen[hospital] ?? {}), ...keys };
    localStorage.setItem(KEYS, JSON.stringify(seen));
  }
  return problems;
}

export async function initVerify(ctx) {
  $('verify-run').onclick = async () => {
    const out = $('verify-result');
    out.className = '';
    out.textContent = 'Checking…';
    ctx.say('', 'info');
    try {
      const view = await api(`/patients/${ctx.patientId}/envelopes`);
      const result = await verifyStream(view);
      const { head, provenVersion } = result.ledger;
      const seen = await checkAgainstSeen(head);
      const ledgerProblems = [...result.ledger.problems, ...(seen.problem ? [seen.problem] : []), ...checkKeysAgainstSeen(view.hospitals)];
      const ledgerText = head
        ? `The ledger's signed tree head of ${head.treeSize} events (endorsed by ${head.endorsedBy.join(', ')}) includes your trail` +
          `${provenVersion === null ? ' — none of your events yet' : ` up to version ${provenVersion}`}. ${seen.message}`
        : seen.message;
      if (result.verified && !ledgerProblems.length) {
        out.className = 'ok';
        out.replaceChildren(
          el('p', {}, `Verified in your browser: all ${result.events} events link up, every hash matches the stored bytes, ` +
            `and every signature checks out (signed by ${result.endorsedBy.join(', ')}).`),
          el('p', {}, ledgerText));
      } else {
        out.className = 'broken';
        out.replaceChildren(
          el('p', {}, result.firstBrokenVersion !== null
            ? `Broken at version ${result.firstBrokenVersion}: your trail has been altered since the hospitals endorsed it.`
            : 'Your trail could not be confirmed: the ledger or the key history does not vouch for it.'),
          el('ul', {}, [...result.problems.map((p) => p.message), ...ledgerProblems].map((m) => el('li', {}, m))));
      }
    } catch (error) {
      out.textContent = '';
      ctx.fail(error);
    }
  };
}
