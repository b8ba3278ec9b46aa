// Bytes, texts and times as the server encodes them: the shared helpers of the browser's verifier and signer.
export const utf8 = (s) => new TextEncoder().encode(s);

export function fromBase64(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

export const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));

export const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

export const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** 4-byte big-endian unsigned integer. */
export function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

/** 8-byte big-endian signed integer. */
export function u64(n) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n), false);
  return b;
}

export const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

/** A P-256 key's id (P256.KeyIdOf): the first 16 hex digits of SHA-256 over its SubjectPublicKeyInfo bytes. */
export const keyIdOf = async (spki) => toHex(await sha256(spki)).slice(0, 16);

/** JSON from UTF-8 bytes, or null when they are not JSON. */
export function readJson(bytes) {
  try { return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)); } catch { return null; }
}

/**
 * An ISO 8601 time as 100-ns ticks (BigInt): .NET writes up to 7 fractional digits and Date keeps milliseconds, so two
 * times within one millisecond would otherwise compare equal and a key or policy could take effect a moment early.
 */
export function instant(iso) {
  const ms = Date.parse(iso ?? '');
  if (Number.isNaN(ms)) return null;
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? '';
  return BigInt(ms) * 10000n + BigInt((fraction.slice(3, 7) || '0').padEnd(4, '0'));
}

/** A GUID's 16 bytes in RFC 4122 (big-endian) order: the order of its text. */
export function uuidBytes(uuid) {
  const hex = uuid.replace(/-/g, '');
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

const importedKeys = new Map();

/** A P-256 public key (base64 SubjectPublicKeyInfo) for verifying; rejects what is no such key. */
export function importKey(spkiBase64) {
  if (!importedKeys.has(spkiBase64))
    importedKeys.set(spkiBase64, crypto.subtle.importKey('spki', fromBase64(spkiBase64), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']));
  return importedKeys.get(spkiBase64);
}

/** Whether a base64 IEEE P1363 signature (64 bytes) verifies over the bytes under the key; false for any malformed part. */
export async function verifies(spkiBase64, signatureBase64, bytes) {
  try {
    const signature = fromBase64(signatureBase64 ?? '');
    return signature.length === 64 && await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, await importKey(spkiBase64), signature, bytes);
  } catch {
    return false;
  }
}
