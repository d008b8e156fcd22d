// The app's per-process parts, built once from its dependencies and shared by the routes and the use cases.
import { touchEndUser } from '../../core/db/users.js';
import { type UserHasher, userHasher } from '../../core/erasure/user-hash.js';
import { userAdaptersPrefix } from '../../core/storage/keys.js';
import { AdapterResolver } from '../adapters/resolver.js';
import type { AppDeps } from '../deps.js';
import { AppSettingsCache } from './app-settings.js';
import { type Caller, CallerDirectory } from './directory.js';
import { engineFamilies } from './engine-metrics.js';
import { GenerationIds } from './generation-id.js';
import { CacheInvalidator } from './invalidations.js';
import { type Counter, type Histogram, Registry } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import type { StageTimes } from './server-timing.js';

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

export type HonoEnv = { Variables: { caller: Caller; timing: StageTimes } };

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
