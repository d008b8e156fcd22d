// User tokens: JWT HS256 signed with the app's signing secret, verified by `jose`. Strict by design: the
// algorithm is pinned to HS256 (no "none", no algorithm confusion), `exp` is required, `sub` must be a valid
// user id; a clock skew (seconds) is tolerated on exp/nbf/iat for clocks that drift a little.
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, SignJWT } from 'jose';
import { USER_ID_PATTERN } from '../../schema/contracts.js';
import { hmacKey } from './hmac.js';

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

/** Looks like a JWT (three base64url parts, the first a JSON header)? API keys never do. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/** What an app or signing secret id can look like: a hint that cannot be one is no hint (and no query). */
const HINT = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The app a token names, unverified: the header's `kid` (a signing secret's id `sks_…`, or the app id) or the
 * `iss` claim (the app id). It says which secrets to verify with; the signature decides. A token naming
 * neither is tried against every app's secrets, a limited number of times per client address
 * (functions/http/directory.ts).
 */
export function tokenAppHint(token: string): string | undefined {
  try {
    const kid = decodeProtectedHeader(token).kid;
    if (typeof kid === 'string') return HINT.test(kid) ? kid : undefined;
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' && HINT.test(iss) ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** `kid`: the signing secret's id (`sks_…`) or the app's id: the server tries only that app's secrets. */
export async function signUserToken(claims: UserClaims, secret: string, kid: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid })
    .sign(await hmacKey(secret));
}

/** jose's verdicts in the words the API answers with. */
function refusal(e: unknown): TokenError {
  if (e instanceof errors.JWSSignatureVerificationFailed)
    return new TokenError('token signature does not verify');
  if (e instanceof errors.JWTExpired) return new TokenError('token has expired');
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'exp') return new TokenError('token has no valid exp claim');
    if (e.claim === 'nbf' || e.claim === 'iat') return new TokenError('token is not valid yet');
    return new TokenError(`token claim ${e.claim} is invalid`);
  }
  if (e instanceof errors.JOSEError) return new TokenError('malformed token');
  return e instanceof TokenError ? e : new TokenError('malformed token');
}

export async function verifyUserToken(
  token: string,
  secret: string,
  nowSeconds: number,
  clockSkewSeconds = 0,
  maxLifetimeSeconds = Number.POSITIVE_INFINITY,
): Promise<UserClaims> {
  let alg: unknown;
  let typ: unknown;
  try {
    ({ alg, typ } = decodeProtectedHeader(token));
  } catch {
    throw new TokenError('malformed token');
  }
  if (alg !== 'HS256') throw new TokenError(`token algorithm must be HS256, got ${String(alg)}`);
  if (typ !== undefined && typ !== 'JWT') throw new TokenError('token type must be JWT');
  let claims: Record<string, unknown>;
  try {
    ({ payload: claims } = await jwtVerify(token, await hmacKey(secret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      currentDate: new Date(nowSeconds * 1000),
      clockTolerance: clockSkewSeconds,
    }));
  } catch (e) {
    throw refusal(e);
  }
  if (typeof claims.sub !== 'string' || !USER_ID_PATTERN.test(claims.sub))
    throw new TokenError('token sub is not a valid user id');
  // jose checks these claims only when they are numbers; a token that has them must have them right.
  for (const claim of ['nbf', 'iat'] as const) {
    if (claims[claim] !== undefined && (typeof claims[claim] !== 'number' || !Number.isFinite(claims[claim])))
      throw new TokenError(`token claim ${claim} must be a number`);
  }
  if ((claims.exp as number) - nowSeconds > maxLifetimeSeconds)
    throw new TokenError(`token lives too long: exp is more than ${maxLifetimeSeconds} s from now`);
  return claims as UserClaims;
}
