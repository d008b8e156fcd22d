// User tokens: JWT HS256 signed with the app's signing secret (Web Crypto only). Strict by design: the header
// must say HS256 (no "none", no algorithm confusion), `exp` is required, `sub` must be a valid user id.

export class TokenError extends Error {
  override name = 'TokenError';
}

export interface UserClaims {
  sub: string;
  exp: number;
  iat?: number;
  nbf?: number;
  [claim: string]: unknown;
}

const USER_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    if (keys.size > 1000) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

export function base64UrlEncode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TokenError('malformed token');
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const raw = atob(padded);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function decodeJson(part: string): Record<string, unknown> {
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64UrlDecode(part)));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error();
    return value;
  } catch {
    throw new TokenError('malformed token');
  }
}

/** Looks like a JWT (three base64url parts, the first a JSON header)? API keys never do. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/** The unverified `sub`: only to find which app's secret to verify with, never trusted by itself. */
export function unverifiedPayload(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('malformed token');
  return decodeJson(parts[1] as string);
}

export async function signUserToken(claims: UserClaims, secret: string): Promise<string> {
  const head = base64UrlEncode(encoder.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
  const body = base64UrlEncode(encoder.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(`${head}.${body}`));
  return `${head}.${body}.${base64UrlEncode(new Uint8Array(sig))}`;
}

export async function verifyUserToken(
  token: string,
  secret: string,
  nowSeconds: number,
): Promise<UserClaims> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('malformed token');
  const [head, body, sig] = parts as [string, string, string];
  const header = decodeJson(head);
  if (header.alg !== 'HS256')
    throw new TokenError(`token algorithm must be HS256, got ${String(header.alg)}`);
  if (header.typ !== undefined && header.typ !== 'JWT') throw new TokenError('token type must be JWT');
  const ok = await crypto.subtle.verify(
    'HMAC',
    await hmacKey(secret),
    base64UrlDecode(sig),
    encoder.encode(`${head}.${body}`),
  );
  if (!ok) throw new TokenError('token signature does not verify');
  const claims = decodeJson(body);
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp))
    throw new TokenError('token has no exp claim');
  if (claims.exp <= nowSeconds) throw new TokenError('token has expired');
  if (typeof claims.nbf === 'number' && claims.nbf > nowSeconds + 60)
    throw new TokenError('token is not valid yet');
  if (typeof claims.sub !== 'string' || !USER_ID.test(claims.sub))
    throw new TokenError('token sub is not a valid user id');
  return claims as UserClaims;
}
