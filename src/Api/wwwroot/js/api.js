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

// What each status means to a patient; the server's own detail (rule texts, never data) is added after it.
const STATUS_TEXT = {
  0: 'The service could not be reached.',
  400: 'The request was not accepted.',
  401: 'Your sign-in is not valid (expired, revoked or not a token). Please sign in again.',
  403: 'This is not allowed.',
  404: 'Not found.',
  409: 'This conflicts with the current state of your record.',
  413: 'The request is too large.',
  429: 'Too many requests right now; nothing was recorded. Try again shortly.',
  503: 'The hospitals could not endorse this right now; nothing was recorded. Try again later.',
};

// Where a problem's code says more to a patient than its status does.
const CODE_TEXT = {
  'narrowing-widens': 'A narrowing can only keep less than the consent gives, or end it sooner; nothing was changed.',
  'narrowing-unchanged': 'That keeps everything the consent gives; untick what to take away, or choose an earlier end.',
  'validity-end-past': 'The new end must be in the future; to end a consent now, revoke it.',
  'consent-revoked': 'This consent is already revoked.',
  'consent-ended': 'This consent has already ended.',
};

/** A sentence (or a few) for any error, problem details first. */
export function describe(error) {
  if (!(error instanceof ProblemError)) return `Something went wrong: ${error?.message || error}`;
  const parts = [CODE_TEXT[error.problem.code] || STATUS_TEXT[error.status] || `The service answered ${error.status}.`];
  const { detail, errors } = error.problem;
  if (detail && detail !== parts[0]) parts.push(detail);
  if (errors) for (const [field, messages] of Object.entries(errors)) parts.push(`${field}: ${[].concat(messages).join(' ')}`);
  return parts.join(' ');
}
