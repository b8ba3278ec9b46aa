import { session } from './session.js';

/** An RFC 9457 problem (or a failure to reach the service), with the HTTP status. */
export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export async function api(path, { method = 'GET', body, headers: extra = {} } = {}) {
  const headers = { Accept: 'application/json, application/problem+json', ...extra };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ProblemError(0, { title: 'Service unreachable', detail: 'The service could not be reached. Check your connection and try again.' });
  }
  if (!response.ok) throw await problemOf(response);
  const text = await response.text();
  try { return text ? JSON.parse(text) : null; } catch { return null; }
}

/** The ProblemError a refused response stands for (its problem details, when it has them). */
export async function problemOf(response) {
  let problem = null;
  try { problem = JSON.parse(await response.text()); } catch { problem = null; }
  return new ProblemError(response.status, problem);
}

/** An expected situation the page explains itself (a device key needed, nothing left to narrow): its message is the whole story. */
export class Notice extends Error {}

// What each status means to a patient, when the problem's own code has no sentence of its own (below).
const STATUS_TEXT = {
  0: 'The service could not be reached.',
  400: 'Not accepted; nothing was recorded.',
  401: 'Your sign-in is not valid (expired, revoked or not a token). Please sign in again.',
  403: 'This is not allowed.',
  404: 'Not found.',
  409: 'This conflicts with the current state of your record.',
  413: 'The request is too large.',
  429: 'Too many requests right now; nothing was recorded. Try again shortly.',
  503: 'The hospitals could not endorse this right now; nothing was recorded. Try again later.',
};

// Where a problem's code says it to a patient better than the server's rule text: then that sentence alone is shown.
const CODE_TEXT = {
  'narrowing-widens': 'A narrowing can only keep less than the consent gives, or end it sooner; nothing was changed.',
  'narrowing-unchanged': 'That keeps everything the consent gives; untick what to take away, or choose an earlier end.',
  'validity-end-past': 'The new end must be in the future; to end a consent now, revoke it.',
  'consent-revoked': 'This consent is already revoked.',
  'consent-ended': 'This consent has already ended.',
  'patient-signature-wrong-key': 'Your device key was replaced by your home hospital, so this device can no longer sign for you; nothing was changed. ' +
    'To sign here again, enrol this device through your home hospital.',
  'patient-signature-required': 'Your consents need your device key\'s signature, and this device did not sign; nothing was changed.',
  'patient-signature-stale': 'Your device\'s signature came too late (check this device\'s clock); nothing was changed. Try again.',
  'no-device-key': 'No device key is enrolled for you any more, so nothing can be signed; nothing was changed. Reload the page.',
};

/**
 * One message per error: the patient's own sentence for the problem's code when there is one; else the server's detail
 * (its rule text, never data) after the status's meaning — unless the one repeats the other — and each field's complaint.
 */
export function describe(error) {
  if (error instanceof Notice) return error.message;
  if (!(error instanceof ProblemError)) return `Something went wrong: ${error?.message || error}`;
  const { code, detail, title, errors } = error.problem;
  const status = STATUS_TEXT[error.status] || `The service answered ${error.status}.`;
  const parts = CODE_TEXT[code] ? [CODE_TEXT[code]] : [status];
  const said = (text) => parts.some((p) => p.toLowerCase().includes(text.toLowerCase().replace(/[.;]\s*$/, '')));
  if (!CODE_TEXT[code] && !errors) {
    const own = detail || title;
    if (own && !said(own)) parts.push(own);
  }
  if (errors) for (const [field, messages] of Object.entries(errors)) parts.push(`${field}: ${[].concat(messages).join(' ')}`);
  return parts.join(' ');
}
