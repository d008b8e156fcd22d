// The app's per-process parts, built once from its dependencies and shared by the routes.
import type { Context } from 'hono';
import { touchEndUser } from '../../core/db/users.js';
import { AdapterResolver } from '../adapters/resolver.js';
import type { AppDeps } from '../deps.js';
import { type Caller, CallerDirectory } from './directory.js';
import { ApiError, forbidden } from './errors.js';
import { type Counter, type Histogram, Registry } from './metrics.js';
import { RateLimiter } from './rate-limit.js';

export interface Services extends AppDeps {
  now: () => number;
  /** Records that a user was seen: creates the user row, then moves last_seen at most once a minute. */
  seen(appId: string, userId: string): Promise<void>;
  /** After an erasure: the next sighting creates the user row again. */
  unsee(appId: string, userId: string): void;
  callers: CallerDirectory;
  adapters: AdapterResolver;
  perKey: RateLimiter;
  perUser: RateLimiter;
  registry: Registry;
  requests: Counter;
  latency: Histogram;
  adapterFallbacks: Counter;
  rateLimited: Counter;
}

export type HonoEnv = { Variables: { caller: Caller } };

/** last_seen is a coarse signal: one write a minute per user, not one per request. */
const SEEN_EVERY_MS = 60_000;

export function buildServices(deps: AppDeps): Services {
  const now = deps.now ?? Date.now;
  const registry = new Registry();
  const lastTouch = new Map<string, number>();
  const s: Services = {
    ...deps,
    now,
    async seen(appId, userId) {
      const key = `${appId}:${userId}`;
      const t = now();
      if ((lastTouch.get(key) ?? Number.NEGATIVE_INFINITY) > t - SEEN_EVERY_MS) return;
      await touchEndUser(deps.db, appId, userId);
      if (lastTouch.size > 100_000) lastTouch.clear();
      lastTouch.set(key, t);
    },
    unsee(appId, userId) {
      lastTouch.delete(`${appId}:${userId}`);
    },
    callers: new CallerDirectory(deps.db, deps.config.adminToken, now, deps.config.auth.clockSkewS),
    adapters: new AdapterResolver(deps.db, deps.store, now),
    perKey: new RateLimiter(deps.config.limits.rateLimitPerMinute, now),
    perUser: new RateLimiter(deps.config.limits.rateLimitPerUserPerMinute, now),
    registry,
    requests: registry.counter('tailor_http_requests_total', 'HTTP requests by route and status.'),
    latency: registry.histogram(
      'tailor_http_request_seconds',
      'HTTP request latency by route.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    adapterFallbacks: registry.counter(
      'tailor_adapter_fallbacks_total',
      'Requests served by the base model because their adapter could not be loaded, by reason.',
    ),
    rateLimited: registry.counter('tailor_rate_limited_total', 'Requests refused by a rate limit, by scope.'),
  };
  return s;
}

/** The user a request acts for: a user token acts only for its own user; an app key names one. */
export function actingUser(c: Context<HonoEnv>, named: string | undefined): string | undefined {
  const caller = c.get('caller');
  if (caller.kind !== 'user') return named;
  if (named !== undefined && named !== caller.userId) {
    throw forbidden(`this user token acts for user ${caller.userId} only`);
  }
  return caller.userId;
}

export function callerApp(c: Context<HonoEnv>) {
  const caller = c.get('caller');
  if (caller.kind === 'admin') throw forbidden('this route needs an app key or a user token');
  return caller.app;
}

export function takeRateLimits(s: Services, appId: string, userId: string): void {
  for (const [scope, limiter, key] of [
    ['key', s.perKey, appId],
    ['user', s.perUser, `${appId}:${userId}`],
  ] as const) {
    const d = limiter.take(key);
    if (!d.allowed) {
      s.rateLimited.inc({ scope });
      throw new ApiError(
        429,
        'rate_limited',
        `rate limit per ${scope === 'key' ? 'API key' : 'user'} exceeded; retry in ${d.retryAfter} s`,
        undefined,
        { 'retry-after': String(d.retryAfter) },
      );
    }
  }
}
