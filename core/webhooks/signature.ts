// The signature of a webhook delivery, Stripe-style: the header
//
//   Tailor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(endpoint secret, `${t}.${body}`)>
//
// `t` is when that attempt was sent (each retry signs anew), so a receiver can refuse old ones (replays).
// Web Crypto only: the same code signs on Node and Workers, and verifies in any receiver.

export const SIGNATURE_HEADER = 'tailor-signature';
/** How old a signature `verifyWebhookSignature` accepts by default. */
export const DEFAULT_TOLERANCE_S = 300;

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');

async function hmacHex(secret: string, message: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    'raw',
    enc.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return hex(await crypto.subtle.sign('HMAC', key, enc.encode(message)));
}

/** The header value for `body` sent at `t` (unix seconds). */
export async function signWebhook(secret: string, body: string, t: number): Promise<string> {
  return `t=${t},v1=${await hmacHex(secret, `${t}.${body}`)}`;
}

/**
 * Whether `header` signs `body` (the raw bytes received, as text) with `secret`, within `toleranceS` of
 * `nowS`. Any `v1` in the header may match (several appear while a secret is being replaced).
 */
export async function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string | null | undefined,
  opts: { nowS?: number; toleranceS?: number } = {},
): Promise<boolean> {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('=') as [string, string]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t)) return false;
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceS ?? DEFAULT_TOLERANCE_S)) return false;
  const want = await hmacHex(secret, `${t}.${body}`);
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && v.length === want.length && equal(v, want));
}

function equal(a: string, b: string): boolean {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
