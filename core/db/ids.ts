// Ids and secrets from Web Crypto (Node and Workers alike).
import { base64UrlEncode } from '../util/encoding.js';

//
// Ids are `<prefix>_` + 10 base32 characters of milliseconds + 16 of randomness: they sort by creation
// time (good for index locality) and break ties between rows created within the same millisecond.

const BASE32 = '0123456789abcdefghjkmnpqrstvwxyz';

export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = BASE32[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let rand = '';
  for (const b of bytes) rand += BASE32[b % 32];
  return `${prefix}_${time}${rand}`;
}

/** `bytes` random bytes as base64url without padding. */
export function randomToken(bytes = 32): string {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Compares two strings in time independent of where they differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
