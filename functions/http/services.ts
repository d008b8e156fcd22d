// The app's per-process parts, built once from its dependencies and shared by the routes.
import type { Context } from 'hono';
import { touchEndUser } from '../../core/db/users.js';
import { type UserHasher, userHasher } from '../../core/erasure/user-hash.js';
import { userAdaptersPrefix } from '../../core/storage/keys.js';
import type { App } from '../../schema/tables.js';
import { AdapterResolver } from '../adapters/resolver.js';
import type { AppDeps } from '../deps.js';
import { AppSettingsCache } from './app-settings.js';
import { type Caller, CallerDirectory } from './directory.js';
import { engineFamilies } from './engine-metrics.js';
import { ApiError, forbidden, invalid } from './errors.js';
import { GenerationIds } from './generation-id.js';
import { CacheInvalidator } from './invalidations.js';
import { type Counter, type Histogram, Registry } from './metrics.js';
import { RateLimiter } from './rate-limit.js';

export interface Services extends AppDeps {
  now: () => number;
  /** Records that a user was seen: creates the user row, then moves last_seen at most once a minute. */
  seen(appId: string, userId: string): Promise<void>;
  /** After an erasure: the next sighting creates the user row again. */
  unsee(appId: string, userId: string): void;
  /** The users of `appId` seen lately by this process. */
  seenUsers(appId: string): string[];
  /** Drops everything this process holds of a user (after their erasure, here or in another process). */
  forgetUser(appId: string, userId: string): Promise<void>;
  /** The keyed hash an erased user is known by. */
  userHash: UserHasher;
  /** What other processes changed, dropped from this one's caches. */
  invalidator: CacheInvalidator;
  callers: CallerDirectory;
  adapters: AdapterResolver;
  settings: AppSettingsCache;
  /** Mints and checks generation ids under the platform's own key (never an app's). */
  generationIds: GenerationIds;
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
  const userHash = userHasher(deps.urlSecret);
  const lastTouch = new Map<string, number>();
  const s: Omit<Services, 'invalidator'> & { invalidator?: CacheInvalidator } = {
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
    seenUsers(appId) {
      const head = `${appId}:`;
      return [...lastTouch.keys()].filter((k) => k.startsWith(head)).map((k) => k.slice(head.length));
    },
    async forgetUser(appId, userId) {
      s.adapters.forget({ appId, userId });
      // Every version lives under the user's folder, or (written before ids were encoded) under the raw id.
      for (const prefix of new Set([userAdaptersPrefix(appId, userId), `adapters/${appId}/${userId}/`]))
        await deps.engine.forgetAdapters(prefix);
      s.unsee(appId, userId);
    },
    userHash,
    callers: new CallerDirectory(
      deps.db,
      deps.config.adminToken,
      now,
      deps.config.auth.clockSkewS,
      deps.config.auth.maxLifetimeS,
    ),
    adapters: new AdapterResolver(deps.db, now),
    settings: new AppSettingsCache(deps.db, deps.config, now),
    generationIds: new GenerationIds(deps.urlSecret),
    perKey: new RateLimiter(now),
    perUser: new RateLimiter(now),
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
  s.invalidator = new CacheInvalidator({
    db: deps.db,
    userHash,
    pollMs: deps.config.invalidations.pollMs,
    now,
    ...(deps.invalidations?.mode === 'background' && deps.invalidations.listen
      ? { listen: deps.invalidations.listen }
      : {}),
    targets: {
      knownUsers: (appId) => [...s.adapters.knownUsers(appId), ...s.seenUsers(appId)],
      forgetUser: (appId, userId) => s.forgetUser(appId, userId),
      forgetOwner: (owner) => s.adapters.forget(owner),
      forgetCallers: () => s.callers.forgetApps(),
    },
    log: (line) => deps.onError?.(new Error(line)),
  });
  registry.collect(() => engineFamilies(deps.engine.metrics()));
  return s as Services;
}

/**
 * The user a request acts for: a user token acts only for its own user (a body or path naming another is
 * refused); an app key must name one.
 */
export function actingUser(c: Context<HonoEnv>, named: string | undefined): string {
  const caller = c.get('caller');
  if (caller.kind === 'user') {
    if (named !== undefined && named !== caller.userId) {
      throw forbidden(`this user token acts for user ${caller.userId} only`);
    }
    return caller.userId;
  }
  if (named === undefined) {
    throw invalid('invalid request: user: required with an app key (the end user the request acts for)', {
      issues: [{ path: 'user', message: 'required with an app key' }],
    });
  }
  return named;
}

export function callerApp(c: Context<HonoEnv>) {
  const caller = c.get('caller');
  if (caller.kind === 'admin') throw forbidden('this route needs an app key or a user token');
  return caller.app;
}

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
export async function takeCallerLimits(s: Services, c: Context<HonoEnv>, units = 1): Promise<void> {
  const caller = c.get('caller');
  if (caller.kind === 'admin') throw forbidden('this route needs an app key or a user token');
  if (caller.kind === 'user') return takeRateLimits(s, caller.app, caller.userId, units);
  const limit = (await s.settings.of(caller.app.id)).rate_limits.per_minute;
  const key = s.perKey.take(caller.app.id, limit, units);
  if (!key.allowed) throw rateLimited(s, 'key', key.retryAfter);
}

function rateLimited(s: Services, scope: 'key' | 'user', retryAfter: number): ApiError {
  s.rateLimited.inc({ scope });
  return new ApiError(
    429,
    'rate_limited',
    `rate limit per ${scope === 'key' ? 'API key' : 'user'} exceeded; retry in ${retryAfter} s`,
    undefined,
    { 'retry-after': String(retryAfter) },
  );
}
