// The network's history rebuilt in the browser from the network stream's own stored events (NetworkHistory.cs): its
// members, each member's endorsement keys with the time each took effect, and the endorsement policy. Each event
// takes effect at its metadata's occurredAt; stateAt(t) folds, in stream order, every event that occurred by t, and
// stateBefore(v) every event before version v (what a transaction of the network stream itself was endorsed under).
// Events whose metadata or data cannot be read are left out, as the server leaves them out (the chain check reports them).
import { instant, readJson } from './encoding.js';

export const DEFAULT_POLICY = 'OutOf(2, *)';

const EMPTY = Object.freeze({ hospitals: new Map(), policy: DEFAULT_POLICY });

/** NetworkDecider.Evolve, for what the verifier needs: members, endorsement keys, the endorsement policy. */
function evolve(state, type, e) {
  switch (type) {
    case 'network.hospital-joined.v1': {
      const hospitals = new Map(state.hospitals);
      hospitals.set(e.hospitalId, { id: e.hospitalId, name: e.name, keys: [{ keyId: e.endorsementKeyId, publicKey: e.endorsementPublicKey, from: null }] });
      return { ...state, hospitals };
    }
    case 'network.hospital-key-rotated.v1': {
      const hospital = state.hospitals.get(e.hospitalId);
      if (!hospital || e.use !== 'endorsement') return state;
      const hospitals = new Map(state.hospitals);
      hospitals.set(e.hospitalId, { ...hospital, keys: [...hospital.keys, { keyId: e.keyId, publicKey: e.publicKey, from: instant(e.effectiveFrom) }] });
      return { ...state, hospitals };
    }
    case 'network.endorsement-policy-changed.v1':
      return { ...state, policy: e.policy };
    default:
      return state;
  }
}

/** The key a hospital had at a time: the last of its keys in effect by then (NetworkState.KeyAt). */
export function keyAt(state, hospitalId, at) {
  let found = null;
  for (const k of state.hospitals.get(hospitalId)?.keys ?? []) if (k.from === null || k.from <= at) found = k;
  return found;
}

export const membersOf = (state) => [...state.hospitals.keys()].sort();

/** The history of decoded network envelopes ({ version, type, data, metadata } with byte arrays). */
export function networkHistory(envelopes) {
  const entries = [];
  for (const e of envelopes) {
    const at = instant(readJson(e.metadata)?.occurredAt);
    const data = readJson(e.data);
    if (at !== null && data && typeof data === 'object') entries.push({ version: e.version, at, type: e.type, data });
  }
  const fold = (keep) => entries.filter(keep).reduce((s, x) => evolve(s, x.type, x.data), EMPTY);
  const byTime = new Map();
  const byVersion = new Map();
  return {
    stateAt: (at) => byTime.get(at) ?? byTime.set(at, fold((x) => x.at <= at)).get(at),
    stateBefore: (version) => byVersion.get(version) ?? byVersion.set(version, fold((x) => x.version < version)).get(version),
    current: () => fold(() => true),
    /** NetworkHistory.StatesDuring: each network in force during [from, to], the one at `to` first, newest first. */
    statesDuring(from, to) {
      const states = [this.stateAt(to)];
      const changes = [...new Set(entries.filter((x) => x.at > from && x.at <= to).map((x) => x.at))].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
      for (const at of changes) states.push(this.stateAt(at - 1n));
      return states;
    },
  };
}
