// The audit trail, newest first, over GET /patients/{id}/audit (filters and cursor paging are the server's), and new
// rows as they happen over the live stream (live.js), filtered here by the same rules.
import { $, el, bdi, when } from './dom.js';
import { api } from './api.js';
import { startLive } from './live.js';
import { actorText, granteeText, consentText, hospitalName } from './names.js';

const ACTIONS = ['access-granted', 'access-denied', 'emergency-access', 'access-explained', 'consent-granted', 'consent-narrowed', 'consent-revoked', 'entry-added',
  'entry-amended', 'entry-retracted', 'patient-registered', 'details-corrected', 'insurance-linked', 'insurance-ended',
  'patient-forgotten', 'research-use', 'device-key-enrolled', 'device-key-replaced'];

const LABELS = {
  'access-granted': 'Read your record', 'access-denied': 'Was refused access', 'emergency-access': 'Emergency access',
  'access-explained': 'Asked what they may see',
  'consent-granted': 'Consent granted', 'consent-narrowed': 'Consent narrowed', 'consent-revoked': 'Consent revoked', 'entry-added': 'Added an entry',
  'entry-amended': 'Amended an entry', 'entry-retracted': 'Retracted an entry', 'patient-registered': 'Registered you',
  'details-corrected': 'Corrected your details', 'insurance-linked': 'Linked insurance', 'insurance-ended': 'Ended insurance',
  'patient-forgotten': 'Forgot you', 'research-use': 'Counted you in research (anonymously)',
  'device-key-enrolled': 'Enrolled your device key', 'device-key-replaced': 'Replaced your device key',
};

let ctx;
let filters = {};
let next = null;
const shown = new Set(); // row ids on the list: a row both loaded and streamed is shown once

export async function initAudit(context) {
  ctx = context;
  const select = $('f-action');
  if (select.options.length === 1) select.append(...ACTIONS.map((a) => el('option', { value: a }, LABELS[a])));
  $('audit-filters').onsubmit = (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    filters = {};
    for (const name of ['from', 'to']) if (form.get(name)) filters[name] = new Date(form.get(name)).toISOString();
    for (const name of ['actor', 'action']) if (form.get(name)) filters[name] = form.get(name);
    load(true);
  };
  $('audit-more').onclick = () => load(false);
  await Promise.all([follow(), noticeEmergency()]);
}

/**
 * Starts the live stream, then loads the list once it is connected: every row is then either in the list or arrives on
 * the stream. Resolves after that first load (or once the stream has failed and the list was loaded without it).
 */
function follow() {
  return new Promise((settled) => {
    let loaded = false;
    const loadOnce = async () => {
      await load(true);
      loaded = true;
      settled();
    };
    startLive(ctx.patientId, {
      ready: (resumed) => { if (!resumed || !loaded) loadOnce(); },
      row: arrived,
      state: (text) => { $('live-status').textContent = text; },
      fail: (error, fatal) => {
        if (fatal) {
          ctx.fail(error);
          settled();
        } else if (!loaded) {
          loadOnce();
        }
      },
    });
  });
}

/** A row from the live stream: announced if it is an emergency, listed on top if the filters let it through. */
function arrived(e) {
  if (e.action === 'emergency-access') announce(e);
  if (e.action === 'device-key-replaced' || e.action === 'device-key-enrolled') ctx.device.changed(e);
  if (shown.has(e.id) || !matches(e)) return;
  shown.add(e.id);
  $('audit-list').querySelector('li.empty')?.remove();
  $('audit-list').prepend(render(e));
}

/** The server's filters, applied to a streamed row: action and actor exactly, time from (inclusive) until (exclusive). */
function matches(e) {
  const at = new Date(e.at);
  return (!filters.action || e.action === filters.action) && (!filters.actor || e.actor.id === filters.actor)
    && (!filters.from || at >= new Date(filters.from)) && (!filters.to || at < new Date(filters.to));
}

/** Break-glass access is the one a patient must not miss: the latest one is announced above the trail (role=alert). */
async function noticeEmergency() {
  try {
    const page = await api(`/patients/${ctx.patientId}/audit?action=emergency-access&order=newest&limit=1`);
    if (page.items[0]) announce(page.items[0]);
    else $('emergency-notice').hidden = true;
  } catch (error) {
    ctx.fail(error);
  }
}

function announce(e) {
  const notice = $('emergency-notice');
  notice.hidden = false;
  notice.replaceChildren('Emergency access: ', actorText(e.actor), ` opened your record on ${when(e.at)} without your consent, giving the reason “`,
    bdi(e.reason), '”.');
}

export async function load(fresh) {
  const query = new URLSearchParams({ ...filters, order: 'newest', limit: '20' });
  if (!fresh && next) query.set('cursor', next);
  try {
    const page = await api(`/patients/${ctx.patientId}/audit?${query}`);
    if (fresh) shown.clear();
    const rows = page.items.filter((e) => !shown.has(e.id));
    rows.forEach((e) => shown.add(e.id));
    const items = rows.map(render);
    if (fresh) $('audit-list').replaceChildren(...items);
    else $('audit-list').append(...items);
    if (fresh && !items.length) $('audit-list').append(el('li', { class: 'empty' }, 'Nothing matches these filters.'));
    next = page.next;
    $('audit-more').hidden = !next;
  } catch (error) {
    ctx.fail(error);
  }
}

function render(e) {
  // A key replaced by the home hospital is as much the patient's business as a break-glass access.
  const standout = e.outcome === 'denied' ? 'denied' : e.outcome === 'emergency' || e.action === 'device-key-replaced' ? 'emergency' : '';
  const thisDevice = ctx.device?.local?.keyId;
  const explained = e.action === 'access-explained';
  // A revocation names only the consent: what it ended, in words, from the consents this page holds.
  const ended = e.action === 'consent-revoked' && e.consentId ? consentText(e.consentId) : null;
  return el('li', { class: standout },
    el('div', {},
      el('strong', {}, LABELS[e.action] || e.action), ' ',
      e.outcome !== 'recorded' ? el('span', { class: `badge ${e.outcome}` }, e.outcome) : null, ' ',
      el('time', { datetime: e.at }, when(e.at))),
    el('div', {}, 'By ', actorText(e.actor)),
    e.purpose ? el('div', {}, `Purpose: ${e.purpose}`) : null,
    // A question (access-explained) released nothing: its categories are what the answer said would be released.
    e.categories?.length ? el('div', {}, `${explained ? 'Would be released' : 'Categories'}: ${e.categories.join(', ')}`) : null,
    e.categoriesRequested?.length && (e.outcome === 'denied' || explained) ? el('div', {}, `Asked for: ${e.categoriesRequested.join(', ')}`) : null,
    e.grantee ? el('div', {}, 'To: ', granteeText(e.grantee)) : null,
    ended ? el('div', {}, 'Ended: ', ended) : null,
    e.purposes?.length ? el('div', {}, `For: ${e.purposes.join(', ')} · ${e.actions.join(', ')}`) : null,
    e.validUntil ? el('div', {}, `Until: ${when(e.validUntil)}`) : null,
    e.reason ? el('div', {}, 'Reason: ', bdi(e.reason)) : null,
    e.deviceKeyId ? el('div', {}, `Device key: ${e.deviceKeyId}${e.deviceKeyId === thisDevice ? ' (this device)' : ''}`) : null,
    e.signedWithKey ? el('div', { class: 'signed' }, `✔ Signed by you, with your device key ${e.signedWithKey}` +
      `${thisDevice && e.signedWithKey !== thisDevice ? ' (not this device)' : ''}`) : null,
    el('div', { class: 'meta' }, `Version ${e.streamVersion} · endorsed by `,
      e.endorsedBy.length ? e.endorsedBy.flatMap((h, i) => [i ? ', ' : '', bdi(hospitalName(h))]) : 'nobody', ` · hash ${e.hash.slice(0, 16)}…`));
}
