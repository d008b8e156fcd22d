// The signatures of a webhook delivery. Two schemes:
//
// Standard Webhooks (https://www.standardwebhooks.com), on every delivery, so receivers verify with its
// libraries:
//
//   webhook-id: <the event's id, evt_…: the same on every attempt>
//   webhook-timestamp: <unix seconds of this attempt>
//   webhook-signature: v1,<base64 HMAC-SHA256(key, `${id}.${timestamp}.${body}`)> [v1,<…> …]
//
// where the key is the bytes the secret's base64 (after `whsec_`) stands for. Several signatures, space
// separated, while a rotated-out secret still signs (its overlap).
//
// Legacy, Stripe-style, only to endpoints registered before the standard was adopted (until their secret is
// rotated; deprecated for one release):
//
//   Tailor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(the secret's text, `${t}.${body}`)>
//
// Each attempt signs anew, so a receiver can refuse old ones (replays). Web Crypto only: the same code signs on
// Node and Workers, and verifies in any receiver.

import { base64UrlDecode } from '../util/encoding.js';

export const SIGNATURE_HEADER = 'tailor-signature';
export const STANDARD_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;
/** How far from now a signature's timestamp the verifiers accept by default (either way: clocks drift). */
export const DEFAULT_TOLERANCE_S = 300;
const SECRET_PREFIX = 'whsec_';

const enc = new TextEncoder();
const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const base64 = (b: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(b)));

async function hmac(key: Uint8Array<ArrayBuffer>, message: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, enc.encode(message));
}

function equal(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const withinTolerance = (t: number, opts: VerifyOptions) =>
  Math.abs((opts.nowS ?? Math.floor(Date.now() / 1000)) - t) <= (opts.toleranceS ?? DEFAULT_TOLERANCE_S);

export interface VerifyOptions {
  nowS?: number;
  toleranceS?: number;
}

// --- Standard Webhooks ---------------------------------------------------------------------------------------

/** A new endpoint's secret: `whsec_` + standard base64 of 32 random bytes, as the libraries expect it. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + base64(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The HMAC key a secret stands for: the bytes of its base64 after `whsec_`. Read leniently (base64 or
 * base64url, padded or not), because secrets made before the standard was adopted are base64url, which the
 * libraries cannot read (docs/api.md, "Webhooks": how a receiver converts one).
 */
export function webhookKey(secret: string): Uint8Array<ArrayBuffer> {
  const text = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = base64UrlDecode(text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
  if (!key || key.length === 0) throw new Error('a webhook secret must be whsec_ and base64');
  return key;
}

async function standardSignature(secret: string, id: string, t: number, body: string): Promise<string> {
  return base64(await hmac(webhookKey(secret), `${id}.${t}.${body}`));
}

/** The `webhook-signature` value: one `v1,<base64>` per secret (the current one first), space separated. */
export async function signStandardWebhook(
  secrets: readonly string[],
  id: string,
  t: number,
  body: string,
): Promise<string> {
  const sigs = await Promise.all(secrets.map((s) => standardSignature(s, id, t, body)));
  return sigs.map((s) => `v1,${s}`).join(' ');
}

/** Request headers: a `Headers`, or a plain object as node:http gives them (lowercase names). */
export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

function header(h: HeadersLike, name: string): string | undefined {
  if (h instanceof Headers) return h.get(name) ?? undefined;
  const v = h[name] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Whether the Standard Webhooks headers sign `body` (the raw bytes received, as text) with `secret`, with a
 * timestamp within `toleranceS` of `nowS`. Any `v1` signature in the header may match.
 */
export async function verifyStandardWebhook(
  secret: string,
  headers: HeadersLike,
  body: string,
  opts: VerifyOptions = {},
): Promise<boolean> {
  const id = header(headers, STANDARD_HEADERS.id);
  const ts = header(headers, STANDARD_HEADERS.timestamp);
  const sigs = header(headers, STANDARD_HEADERS.signature);
  if (!id || !ts || !sigs || !/^\d+$/.test(ts)) return false;
  const t = Number(ts);
  if (!withinTolerance(t, opts)) return false;
  const want = await standardSignature(secret, id, t, body);
  return sigs
    .split(' ')
    .map((s) => s.split(','))
    .some(([version, sig]) => version === 'v1' && sig !== undefined && equal(sig, want));
}

// --- Legacy: Tailor-Signature --------------------------------------------------------------------------------

async function legacyHex(secret: string, t: number, body: string): Promise<string> {
  return hex(await hmac(enc.encode(secret), `${t}.${body}`));
}

/** The `Tailor-Signature` value for `body` sent at `t` (unix seconds). */
export async function signWebhook(secret: string, body: string, t: number): Promise<string> {
  return `t=${t},v1=${await legacyHex(secret, t, body)}`;
}

/**
 * Whether `header` (Tailor-Signature) signs `body` (the raw bytes received, as text) with `secret`, within
 * `toleranceS` of `nowS`. Any `v1` in the header may match.
 */
export async function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string | null | undefined,
  opts: VerifyOptions = {},
): Promise<boolean> {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('=') as [string, string]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || !withinTolerance(t, opts)) return false;
  const want = await legacyHex(secret, t, body);
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && equal(v, want));
}
