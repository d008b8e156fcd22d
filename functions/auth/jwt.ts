// User tokens: JWT HS256 signed with the app's signing secret (Web Crypto only). Strict by design: the header
// must say HS256 (no "none", no algorithm confusion), `exp` is required, `sub` must be a valid user id.

import { base64UrlDecode, base64UrlEncode, hmacSha256, hmacVerify } from './hmac.js';

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

function decodePart(text: string): Uint8Array<ArrayBuffer> {
  const bytes = base64UrlDecode(text);
  if (bytes === null) throw new TokenError('malformed token');
  return bytes;
}

function decodeJson(part: string): Record<string, unknown> {
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(decodePart(part)));
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

/**
 * The app a token names, unverified: the header's `kid` or the `iss` claim. Only a hint for which app's secret
 * to verify with (saves trying every app's); the signature decides.
 */
export function tokenAppHint(token: string): string | undefined {
  const [head, body] = token.split('.');
  try {
    const kid = decodeJson(head ?? '').kid;
    if (typeof kid === 'string') return kid;
    const iss = decodeJson(body ?? '').iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

export async function signUserToken(claims: UserClaims, secret: string): Promise<string> {
  const head = base64UrlEncode(encoder.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
  const body = base64UrlEncode(encoder.encode(JSON.stringify(claims)));
  return `${head}.${body}.${base64UrlEncode(await hmacSha256(secret, `${head}.${body}`))}`;
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
  const ok = await hmacVerify(secret, `${head}.${body}`, decodePart(sig));
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
