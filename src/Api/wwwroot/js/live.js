// New audit rows as they happen: GET /patients/{id}/audit/live, server-sent events read with fetch(). The browser's
// EventSource cannot send an Authorization header, and the token must not go into a URL (URLs end up in logs and
// histories), so the stream is fetched like every other call and parsed here. Reconnects resume with Last-Event-ID.
import { session } from './session.js';
import { ProblemError, problemOf } from './api.js';

/**
 * A parser of the event-stream format (WHATWG HTML §9.2.6, "Interpreting an event stream"): feed it decoded text as it
 * arrives; it calls dispatch({ type, data, id }) per event and retry(ms) for a retry field.
 */
export function eventStreamParser(dispatch, retry = () => {}) {
  let pending = '';
  let data = [];
  let type = '';
  let id = '';
  const line = (text) => {
    if (text === '') {
      if (data.length) dispatch({ type: type || 'message', data: data.join('\n'), id });
      data = [];
      type = '';
      return;
    }
    if (text.startsWith(':')) return; // a comment
    const colon = text.indexOf(':');
    const name = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') data.push(value);
    else if (name === 'event') type = value;
    else if (name === 'id' && !value.includes('\0')) id = value;
    else if (name === 'retry' && /^\d+$/.test(value)) retry(Number(value));
  };
  return (chunk) => {
    pending += chunk;
    // A CR at the very end may be the first half of a CRLF split across chunks: it waits for the next one.
    const complete = pending.endsWith('\r') ? pending.length - 1 : pending.length;
    const lines = pending.slice(0, complete).replace(/\r\n?/g, '\n').split('\n');
    pending = lines.pop() + pending.slice(complete);
    lines.forEach(line);
  };
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
});

let running = null;

/** Ends the live stream (sign-out, or a new start). */
export function stopLive() {
  running?.abort();
  running = null;
}

/**
 * Follows the patient's trail until stopLive(). Handlers:
 * ready(resumed) — connected; resumed is false when the stream starts at the newest row without knowing what was seen
 *   (the caller then reloads the list); row(auditRow); state(text) — a sentence for the page; fail(error, fatal) —
 *   a problem; fatal ones (400, 401, 403) end the stream, others are retried (429 after its Retry-After).
 */
export function startLive(patientId, { ready, row, state, fail }) {
  stopLive();
  const stop = new AbortController();
  running = stop;
  let lastId = null;
  let retryMs = 3000;
  (async () => {
    while (!stop.signal.aborted) {
      let wait = retryMs;
      try {
        await follow();
        state('Live updates interrupted: reconnecting…');
      } catch (error) {
        if (stop.signal.aborted) return;
        const fatal = error instanceof ProblemError && [400, 401, 403].includes(error.status);
        fail(error, fatal);
        if (fatal) return;
        if (error.retryAfter) wait = error.retryAfter * 1000;
        state(error.status === 429
          ? `Live updates paused: too many of your pages follow the trail; trying again in ${Math.round(wait / 1000)} s.`
          : 'Live updates interrupted: reconnecting…');
      }
      await sleep(wait + Math.random() * 1000, stop.signal);
    }
  })();

  async function follow() {
    // One connection: aborted by stopLive(), or by the watchdog when the server falls silent past its heartbeats.
    const connection = new AbortController();
    const onStop = () => connection.abort();
    stop.signal.addEventListener('abort', onStop, { once: true });
    let watchdog = null;
    const quiet = (seconds) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => connection.abort(), seconds * 1000);
    };
    try {
      const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${session.token()}` };
      if (lastId) headers['Last-Event-ID'] = lastId;
      let response;
      try {
        response = await fetch(`/patients/${patientId}/audit/live`, { headers, cache: 'no-store', signal: connection.signal });
      } catch {
        throw new ProblemError(0, { title: 'Service unreachable', detail: 'The service could not be reached.' });
      }
      if (!response.ok) {
        const error = await problemOf(response);
        error.retryAfter = Number(response.headers.get('Retry-After')) || 0;
        throw error;
      }
      const resumed = lastId !== null;
      let heartbeat = 15;
      quiet(heartbeat * 3);
      const parse = eventStreamParser((event) => {
        if (event.id) lastId = event.id;
        if (event.type === 'ready') {
          heartbeat = JSON.parse(event.data).heartbeatSeconds || heartbeat;
          state('Live: new events appear here as they happen.');
          ready(resumed);
        } else if (event.type === 'audit') {
          row(JSON.parse(event.data));
        }
      }, (ms) => { retryMs = ms; });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch {
          return; // cut (or silenced by the watchdog): reconnect
        }
        if (chunk.done) return;
        quiet(heartbeat * 3);
        parse(chunk.value);
      }
    } finally {
      clearTimeout(watchdog);
      stop.signal.removeEventListener('abort', onStop);
    }
  }
}
