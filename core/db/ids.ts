// Ids and secrets from Web Crypto (Node and Workers alike).
import { base64UrlEncode } from '../util/encoding.js';

//
// Ids are `<prefix>_` + 10 base32 characters of milliseconds + 16 of randomness: they sort by creation
// time (good for index locality). Within one millisecond a process's ids still sort in creation order: the
// randomness of the previous id is incremented (as monotonic ULIDs do), so "newest first" is exact.

const BASE32 = '0123456789abcdefghjkmnpqrstvwxyz';

let lastTime = -1;
let lastRand: number[] = [];

export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = BASE32[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let digits: number[];
  if (now === lastTime && lastRand.length === 16) {
    digits = lastRand.slice();
    let i = 15;
    while (i >= 0 && digits[i] === 31) digits[i--] = 0; // carry; 80 bits never run out within a millisecond
    if (i >= 0) digits[i] = (digits[i] as number) + 1;
  } else {
    // The top bit stays clear so that increments have room before they carry into the time.
    digits = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b, i) => (i === 0 ? b % 16 : b % 32));
  }
  lastTime = now;
  lastRand = digits;
  return `${prefix}_${time}${digits.map((d) => BASE32[d]).join('')}`;
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
