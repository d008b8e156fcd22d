// What a request is charged against the rate limits (token buckets per app key and per user, per process:
// http/rate-limit.ts), with each app's own limits. Charged before the work starts; a refusal says when to retry.
import type { App } from '../../schema/tables.js';
import type { Caller } from '../http/directory.js';
import type { Services } from '../http/services.js';
import { forbidden, UseCaseError } from './errors.js';

/**
 * What the rate limits count: units of work, not requests. One unit is one generation of up to
 * GENERATION_UNIT_TOKENS requested tokens, or one scored text; every other call is one unit. A request is
 * charged for what it asks (`max_tokens`, or its default), not for what it turns out to use: the charge is
 * taken before the work starts.
 */
export const GENERATION_UNIT_TOKENS = 128;

/** `generations` generations of up to `maxTokens` tokens each (OpenAI's `n` choices are `n` generations). */
export const generationUnits = (generations: number, maxTokens: number): number =>
  generations * Math.max(1, Math.ceil(maxTokens / GENERATION_UNIT_TOKENS));

/**
 * Takes `units` from the user's bucket, then from the app key's, with the app's limits. A request refused by
 * the user's limit costs the app key nothing, so one user cannot drain the key for everybody else; a request
 * refused by the key's limit gives the user's units back. A cost over a bucket's size takes that whole bucket
 * (rate-limit.ts): the request waits for a full bucket rather than being impossible.
 */
export async function takeRateLimits(s: Services, app: App, userId: string, units = 1): Promise<void> {
  const limits = (await s.settings.of(app.id)).rate_limits;
  const userKey = `${app.id}:${userId}`;
  const user = s.perUser.take(userKey, limits.per_user_per_minute, units);
  if (!user.allowed) throw rateLimited(s, 'user', user.retryAfter);
  const key = s.perKey.take(app.id, limits.per_minute, units);
  if (!key.allowed) {
    s.perUser.refund(userKey, limits.per_user_per_minute, user.units);
    throw rateLimited(s, 'key', key.retryAfter);
  }
}

/**
 * The caller's limits for a call that names no user: a user token's user and the app key, or the app key
 * alone (the models routes).
 */
export async function takeCallerLimits(s: Services, caller: Caller, units = 1): Promise<void> {
  if (caller.kind === 'admin') throw forbidden('this route needs an app key or a user token');
  if (caller.kind === 'user') return takeRateLimits(s, caller.app, caller.userId, units);
  return takeKeyLimit(s, caller.app.id, units);
}

/** The app key's limit alone: calls that act for no user (webhook management, the models routes). */
export async function takeKeyLimit(s: Services, appId: string, units = 1): Promise<void> {
  const limit = (await s.settings.of(appId)).rate_limits.per_minute;
  const key = s.perKey.take(appId, limit, units);
  if (!key.allowed) throw rateLimited(s, 'key', key.retryAfter);
}

function rateLimited(s: Services, scope: 'key' | 'user', retryAfter: number): UseCaseError {
  s.rateLimited.inc({ scope });
  return new UseCaseError(
    'rate_limited',
    `rate limit per ${scope === 'key' ? 'API key' : 'user'} exceeded; retry in ${retryAfter} s`,
    undefined,
    retryAfter,
  );
}
