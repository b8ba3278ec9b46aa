// Consents: active, upcoming and past (GET /patients/{id}/consents), revoke (after a confirmation), narrow (a form per
// consent, opened on demand), and a grant form whose grantees — hospitals and practitioners — come from GET /network.
// Sensitive categories are marked and never ticked for the patient.
import { $, el, bdi, when } from './dom.js';
import { api, Notice } from './api.js';
import { load as reloadAudit } from './audit.js';
import { granteeText, hospitalName, rememberConsents } from './names.js';

const CATEGORIES = ['demographics', 'allergies', 'medications', 'conditions', 'lab-results', 'imaging', 'clinical-notes',
  'vaccinations', 'mental-health', 'sexual-health', 'genetics', 'vital-signs', 'procedures', 'surveys'];
const SENSITIVE = new Set(['mental-health', 'sexual-health', 'genetics', 'surveys']);
const PURPOSES = ['treatment', 'research', 'insurance'];
const ACTIONS = ['read', 'write'];
const ROLES = ['physician', 'nurse', 'home-care', 'pharmacist', 'researcher'];

let ctx;

export async function initConsents(context) {
  ctx = context;
  fillGrantees();
  await list();
  fillChecks('g-categories', 'category', CATEGORIES, [], (c) => SENSITIVE.has(c) ? el('span', { class: 'sensitive' }, ' (sensitive)') : null);
  fillChecks('g-purposes', 'purpose', PURPOSES, ['treatment']);
  fillChecks('g-actions', 'consent-action', ACTIONS, ['read']);
  $('grant-form').onsubmit = grant;
}

function fillChecks(id, name, values, ticked, note = () => null) {
  const box = $(id);
  box.querySelectorAll('label').forEach((l) => l.remove());
  box.append(...values.map((v) => el('label', { class: 'check' },
    el('input', { type: 'checkbox', name, value: v, checked: ticked.includes(v) }), v, note(v))));
}

function fillGrantees() {
  const { hospitals, practitioners } = ctx.network;
  $('g-grantee').replaceChildren(
    el('optgroup', { label: 'Hospitals' }, hospitals.map((h) => el('option', { value: `hospital:${h.id}` }, `${h.name} (${h.id})`))),
    el('optgroup', { label: 'Practitioners' }, practitioners.filter((p) => p.role !== 'admin').map((p) =>
      el('option', { value: `practitioner:${p.id}` }, `${p.id} (${p.role}, ${hospitalName(p.hospitalId)})`))),
    el('optgroup', { label: 'Everyone with the role' }, ROLES.map((r) => el('option', { value: `role:${r}` }, r))));
}

export async function list() {
  try {
    const view = await api(`/patients/${ctx.patientId}/consents`);
    rememberConsents(view);
    const group = (title, items, revocable) => el('div', {},
      el('h3', {}, `${title} (${items.length})`),
      items.length ? el('ul', {}, items.map((c) => render(c, revocable))) : el('p', {}, 'None.'));
    $('consent-lists').replaceChildren(group('Active', view.active, true), group('Starting later', view.upcoming, true), group('Past', view.past, false));
  } catch (error) {
    ctx.fail(error);
  }
}

/** A refusal explained; one about the device key also brings the device card up to date. */
function failed(error) {
  ctx.fail(error);
  if (/^(patient-signature|no-device-key)/.test(error?.problem?.code ?? '')) ctx.device.refresh();
}

function render(c, revocable) {
  // Labels name the grantee as the API does ("hospital lakeside"), the card in words.
  const who = `${c.grantee.kind} ${c.grantee.id}`;
  const card = el('li', { class: 'card' },
    el('div', {}, el('strong', {}, granteeText(c.grantee)), ` may ${c.actions.join(', ')} ${c.categories.join(', ')} for ${c.purposes.join(', ')}`),
    el('div', { class: 'meta' }, `From ${when(c.validFrom)}${c.validUntil ? ` until ${when(c.validUntil)}` : ''}` +
      `${c.narrowedAt ? ` · narrowed ${when(c.narrowedAt)}` : ''}${c.revokedAt ? ` · revoked ${when(c.revokedAt)}` : ''}`));
  if (!revocable) return card;
  const toggle = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-label': `Narrow the consent for ${who}` }, 'Narrow…');
  toggle.onclick = () => {
    const open = card.querySelector('form.narrow');
    if (open) open.remove();
    else card.append(narrowForm(c, who));
    toggle.setAttribute('aria-expanded', String(!open));
    if (!open) card.querySelector('form.narrow input')?.focus();
  };
  const actions = el('div', { class: 'actions' }, toggle,
    el('button', { type: 'button', class: 'secondary', 'aria-label': `Revoke the consent for ${who}`, onclick: () => confirmRevoke(c, who, actions) }, 'Revoke'));
  card.append(actions);
  return card;
}

/** Revoking cannot be undone (a new grant is a new consent): the patient confirms it in place, by mouse or keyboard. */
function confirmRevoke(c, who, actions) {
  if (actions.nextElementSibling?.classList.contains('confirm')) return;
  const box = el('div', { class: 'confirm', role: 'group', 'aria-label': `Confirm revoking the consent for ${who}` },
    el('p', {}, 'Revoke the consent for ', granteeText(c.grantee), '? It ends now and cannot be undone; a new grant would be a new consent.'));
  const keep = el('button', { type: 'button', class: 'secondary', onclick: () => box.remove() }, 'Keep it');
  box.append(el('div', { class: 'actions' },
    el('button', { type: 'button', onclick: () => { box.remove(); revoke(c.consentId); } }, `Yes, revoke the consent for ${who}`), keep));
  actions.after(box);
  keep.focus();
}

/** What the consent keeps (all ticked to start with) and an optional earlier end; the server refuses anything wider. */
function narrowForm(c, who) {
  const id = `narrow-${c.consentId}`;
  const keep = (legend, name, values) => el('fieldset', {}, el('legend', {}, legend),
    values.map((v) => el('label', { class: 'check' }, el('input', { type: 'checkbox', name, value: v, checked: true }), v)));
  const form = el('form', { class: 'narrow', 'aria-label': `Narrow the consent for ${who}` },
    el('p', {}, 'Untick what this consent should no longer give, or choose an earlier end. Narrowing never gives more.'),
    keep('Keep these categories', 'category', c.categories),
    keep('Keep these purposes', 'purpose', c.purposes),
    keep('Keep these actions', 'consent-action', c.actions),
    el('label', { for: `${id}-until` }, `End earlier, on (optional${c.validUntil ? `; now until ${when(c.validUntil)}` : ''})`),
    el('input', { type: 'date', id: `${id}-until`, name: 'until' }),
    el('button', { type: 'submit' }, 'Narrow'));
  form.onsubmit = (e) => narrow(e, c);
  return form;
}

async function narrow(e, consent) {
  e.preventDefault();
  const form = new FormData(e.target);
  const body = { categories: form.getAll('category'), purposes: form.getAll('purpose'), actions: form.getAll('consent-action') };
  const none = Object.entries(body).filter(([, kept]) => !kept.length).map(([field]) => field);
  if (none.length) {
    ctx.fail(new Notice(`A narrowed consent still gives something: keep at least one of its ${none.join(' and ')}. ` +
      'To take everything back, revoke the consent instead.'));
    return;
  }
  // A local day, to its end (exclusive on the server), as the grant form does.
  if (form.get('until')) body.validUntil = new Date(`${form.get('until')}T23:59:59`).toISOString();
  try {
    // What the device signs is the consent as it becomes: the kept lists (in the consent's order) and its end.
    const headers = await signed('narrow-consent', { consentId: consent.consentId, ...body, validUntil: body.validUntil ?? consent.validUntil ?? null });
    await api(`/patients/${ctx.patientId}/consents/${consent.consentId}/narrow`, { method: 'POST', body, headers });
    ctx.say(headers['Patient-Signature'] ? 'Consent narrowed, signed by you.' : 'Consent narrowed.', 'info');
    await Promise.all([list(), reloadAudit(true)]);
  } catch (error) {
    failed(error);
  }
}

/** The Patient-Signature header when the patient has a device key (null otherwise): the statement signed here. */
async function signed(action, command) {
  const signature = await ctx.device.signature(action, command);
  return signature ? { 'Patient-Signature': signature } : {};
}

async function revoke(consentId) {
  try {
    const headers = await signed('revoke-consent', { consentId });
    await api(`/patients/${ctx.patientId}/consents/${consentId}`, { method: 'DELETE', headers });
    ctx.say(headers['Patient-Signature'] ? 'Consent revoked, signed by you.' : 'Consent revoked.', 'info');
    await Promise.all([list(), reloadAudit(true)]);
  } catch (error) {
    failed(error);
  }
}

async function grant(e) {
  e.preventDefault();
  const form = new FormData(e.target);
  const [kind, ...id] = String(form.get('grantee')).split(':');
  // Every field explicit (the consent id and its start too), so that what the device signs is exactly what is decided.
  const body = {
    consentId: crypto.randomUUID(),
    grantee: { kind, id: id.join(':').normalize('NFC') },
    categories: form.getAll('category'),
    purposes: form.getAll('purpose'),
    actions: form.getAll('consent-action'),
    // Local days: from the start of the first (now when none is given), until the end of the last (exclusive on the server).
    validFrom: (form.get('from') ? new Date(`${form.get('from')}T00:00:00`) : new Date()).toISOString(),
  };
  if (form.get('until')) body.validUntil = new Date(`${form.get('until')}T23:59:59`).toISOString();
  try {
    const headers = await signed('grant-consent', body);
    await api(`/patients/${ctx.patientId}/consents`, { method: 'POST', body, headers });
    ctx.say(headers['Patient-Signature'] ? 'Consent granted, signed by you.' : 'Consent granted.', 'info');
    e.target.reset();
    await Promise.all([list(), reloadAudit(true)]);
  } catch (error) {
    failed(error);
  }
}
