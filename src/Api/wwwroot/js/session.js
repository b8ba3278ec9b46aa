// The patient's token lives in sessionStorage only: gone when the tab closes, never in localStorage or a cookie.
const KEY = 'healthevents.token';

export const session = {
  token: () => sessionStorage.getItem(KEY),
  set: (token) => sessionStorage.setItem(KEY, token),
  clear: () => sessionStorage.removeItem(KEY),
};

/** The token's claims, read (not verified: the server does that) to know which patient and hospital it names. */
export function claims(token) {
  const part = token.split('.')[1];
  if (!part) throw new Error('This is not a token (expected three dot-separated parts).');
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
  return JSON.parse(json);
}
