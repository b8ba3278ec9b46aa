// The endorsement policy language of EndorsementPolicy.cs, for the browser: gates AND, OR, OutOf(n, ...) and
// Majority (more than half of its alternatives), principals a hospital id, '*' (every member, as separate
// alternatives) and 'home' (the patient's home hospital; on a stream of no patient, any one member). Each hospital's
// signature counts once, for one principal, found by backtracking as the server does. Only members satisfy anything.

/** Parses a policy into { kind, need, children } / { hospital } / { home } / { all }; throws for text the server refuses. */
export function parsePolicy(text) {
  let at = 0;
  const space = () => { while (at < text.length && /\s/.test(text[at])) at++; };
  const word = () => { const w = /^[A-Za-z0-9_-]*/.exec(text.slice(at))[0]; at += w.length; return w; };

  function node(depth) {
    if (depth > 16) throw new Error('gates nest deeper than 16');
    space();
    if (text[at] === '*') { at++; return { all: true }; }
    const w = word();
    if (!w) throw new Error(`unexpected '${text[at] ?? 'end'}' at ${at}`);
    space();
    if (text[at] !== '(') return w.toLowerCase() === 'home' ? { home: true } : { hospital: w };
    at++;
    const kind = w.toUpperCase();
    if (!['AND', 'OR', 'OUTOF', 'MAJORITY'].includes(kind)) throw new Error(`unknown gate '${w}'`);
    let count = 0;
    if (kind === 'OUTOF') {
      space();
      const n = word();
      if (!/^[0-9]+$/.test(n) || Number(n) < 1) throw new Error('OutOf needs a count of at least 1');
      count = Number(n);
      space();
      if (text[at++] !== ',') throw new Error("a ',' is missing after the count of OutOf");
    }
    const children = [];
    for (;;) {
      children.push(node(depth + 1));
      space();
      if (text[at] === ',') { at++; continue; }
      if (text[at] === ')') { at++; break; }
      throw new Error(`')' is missing to close ${w}`);
    }
    return { kind, count, children };
  }

  const root = node(0);
  if (root.all) throw new Error("'*' belongs inside a gate, as in OutOf(2, *)");
  space();
  if (at < text.length) throw new Error(`unexpected '${text[at]}' after the end of the policy`);
  return root;
}

/** Replaces '*' and 'home' by hospitals and makes thresholds concrete, as EndorsementPolicy.Evaluation.Resolve. */
function resolve(node, members, home) {
  if (node.hospital) return { leaf: node.hospital };
  if (node.home) {
    // A stream of no patient: any one member stands for home.
    if (!home) return { need: 1, children: members.map((m) => ({ leaf: m })) };
    return { leaf: home };
  }
  const children = node.children.flatMap((c) => (c.all ? members.map((m) => ({ leaf: m })) : [resolve(c, members, home)]));
  const need = { AND: children.length, OR: 1, MAJORITY: Math.floor(children.length / 2) + 1, OUTOF: node.count }[node.kind];
  // A gate left with no alternatives is unsatisfiable, never vacuously true.
  return { need: children.length === 0 ? 1 : need, children };
}

/**
 * Whether the hospitals in signers (whose signatures verified) satisfy the policy text, given the members of the
 * day and the patient's home hospital (null: a stream of no patient). Throws for an unreadable policy.
 */
export function satisfies(policyText, signers, members, home) {
  const memberSet = new Set(members);
  const signed = new Set([...signers].filter((s) => memberSet.has(s)));
  const used = new Set();
  const root = resolve(parsePolicy(policyText), [...members].sort(), home);

  function satisfy(node, then) {
    if ('leaf' in node) {
      if (!node.leaf || !signed.has(node.leaf) || used.has(node.leaf)) return false;
      used.add(node.leaf);
      const result = then();
      used.delete(node.leaf);
      return result;
    }
    return from(node, 0, node.need, then);
  }

  function from(gate, index, need, then) {
    if (need <= 0) return then();
    if (gate.children.length - index < need) return false;
    return satisfy(gate.children[index], () => from(gate, index + 1, need - 1, then)) || from(gate, index + 1, need, then);
  }

  return satisfy(root, () => true);
}
