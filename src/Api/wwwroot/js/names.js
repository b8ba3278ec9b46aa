// Names for the ids the API gives: hospitals and registered practitioners from GET /network, the patient's consents
// (by id) from GET /patients/{id}/consents. Every name is server text: it is rendered isolated (bdi).
import { el, bdi } from './dom.js';
import { api } from './api.js';

const hospitals = new Map(); // id -> name
const practitioners = new Map(); // id -> { id, role, hospitalId }
const consents = new Map(); // consent id -> consent

/** GET /network: the hospitals and practitioners, for names and the grant form. Resolves to { hospitals, practitioners }. */
export async function loadNetwork() {
  const network = await api('/network');
  hospitals.clear();
  practitioners.clear();
  for (const h of network.hospitals) hospitals.set(h.id, h.name);
  for (const p of network.practitioners ?? []) practitioners.set(p.id, p);
  return { hospitals: network.hospitals, practitioners: network.practitioners ?? [] };
}

/** Keeps the consents of a GET /patients/{id}/consents answer, so that a revocation on the trail can say what it ended. */
export function rememberConsents(view) {
  for (const c of [...view.active, ...view.upcoming, ...view.past]) consents.set(c.consentId, c);
}

export const hospitalName = (id) => hospitals.get(id) ?? id;

/** "riverside-physician (physician, Riverside Hospital)". */
export const actorText = (actor) => el('span', {}, bdi(actor.id), ` (${actor.role}, `, bdi(hospitalName(actor.hospital)), ')');

/** A consent's grantee in words: a hospital by name, a practitioner by id, role and hospital, or everyone with a role. */
export function granteeText(grantee) {
  if (grantee.kind === 'hospital') return el('span', {}, bdi(hospitalName(grantee.id)));
  if (grantee.kind === 'role') return el('span', {}, 'everyone with the role ', bdi(grantee.id));
  const p = practitioners.get(grantee.id);
  return el('span', {}, bdi(grantee.id), p ? [` (${p.role}, `, bdi(hospitalName(p.hospitalId)), ')'] : ' (practitioner)');
}

/** The consent a row names, in words ("the consent to Lakeside Clinic for conditions"), or null when the page does not know it. */
export function consentText(consentId) {
  const c = consents.get(consentId);
  return c ? el('span', {}, 'the consent to ', granteeText(c.grantee), ` for ${c.categories.join(', ')}`) : null;
}
