// Who is calling: API keys, user tokens and the admin token resolved to a caller, with short-lived caches so
// a busy key does not cost a database round trip per request.

import {
  activeSigningSecrets,
  findAppByApiKey,
  getApp,
  getSigningSecret,
  listApps,
} from '../../core/db/apps.js';
import type { Db } from '../../core/db/database.js';
import { timingSafeEqual } from '../../core/db/ids.js';
import { sha256Hex } from '../../core/util/encoding.js';
import type { App } from '../../schema/tables.js';
import { looksLikeJwt, TokenError, tokenAppHint, verifyUserToken } from '../auth/jwt.js';
import { UNKNOWN_ADDRESS } from './client-address.js';
import { ApiError, unauthorized } from './errors.js';
import { RateLimiter } from './rate-limit.js';

export type Caller =
  | { kind: 'app'; app: App }
  | { kind: 'user'; app: App; userId: string }
  | { kind: 'admin' };

const KEY_TTL_MS = 30_000;
const SECRETS_TTL_MS = 10_000;

/**
 * Tokens naming no app (no `kid`, no `iss`) are still accepted, as the API's contract allows, but each costs an
 * HMAC per signing secret of every app: a client address may have this many such sweeps a minute (a token that
 * verified is remembered until it expires, so a device sending its token again costs nothing).
 */
export const SWEEPS_PER_ADDRESS_PER_MINUTE = 30;
const MAX_VERIFIED = 10_000;
/** A verified token is trusted again without a sweep for at most this long (revocations catch up by then). */
const VERIFIED_TTL_MS = 60_000;

export class CallerDirectory {
  private readonly byKey = new Map<string, { app: App | null; until: number }>();
  private readonly secrets = new Map<string, { list: string[]; until: number }>();
  private apps: { list: App[]; until: number } | null = null;
  /** Tokens without a hint that verified: SHA-256 of the token → who, until when. */
  private readonly verified = new Map<string, { caller: Caller & { kind: 'user' }; until: number }>();
  private readonly sweeps: RateLimiter;

  constructor(
    private readonly db: Db,
    private readonly adminToken: string | undefined,
    private readonly now: () => number,
    /** Seconds of clock drift tolerated on user tokens' exp and nbf. */
    private readonly clockSkewS = 0,
    private readonly maxLifetimeS = Number.POSITIVE_INFINITY,
  ) {
    this.sweeps = new RateLimiter(now);
  }

  bearer(header: string | undefined): string {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m?.[1]) throw unauthorized('send Authorization: Bearer <API key or user token>');
    return m[1];
  }

  isAdmin(token: string): boolean {
    return this.adminToken !== undefined && timingSafeEqual(token, this.adminToken);
  }

  /**
   * An app key or a user token; the admin token is no app credential. `address`: the client's (it bounds how
   * many tokens naming no app it can make this process try against every app).
   */
  async appCaller(token: string, address = UNKNOWN_ADDRESS): Promise<Caller & { kind: 'app' | 'user' }> {
    if (looksLikeJwt(token)) return this.userCaller(token, address);
    const app = await this.appByKey(token);
    if (!app)
      throw unauthorized(this.isAdmin(token) ? 'the admin token cannot act as an app' : 'invalid API key');
    return { kind: 'app', app };
  }

  private async appByKey(key: string): Promise<App | null> {
    const t = this.now();
    const hit = this.byKey.get(key);
    if (hit && hit.until > t) return hit.app;
    const app = await findAppByApiKey(this.db, key);
    if (this.byKey.size > 10_000) this.byKey.clear();
    this.byKey.set(key, { app, until: t + KEY_TTL_MS });
    return app;
  }

  /**
   * A user token is signed with one of its app's signing secrets (a rotation leaves the previous one valid for
   * an overlap). Its `kid` header names the secret (`sks_…`) or the app (its id; also `iss`): then that secret,
   * or each of the app's unretired secrets, is tried. A token naming neither is tried against every app's,
   * at most SWEEPS_PER_ADDRESS_PER_MINUTE times a minute per client address, and remembered once it verified.
   */
  private async userCaller(token: string, address: string): Promise<Caller & { kind: 'user' }> {
    const hint = tokenAppHint(token);
    const nowS = Math.floor(this.now() / 1000);
    let digest: string | undefined;
    if (hint === undefined) {
      digest = await sha256Hex(token);
      const known = this.verified.get(digest);
      if (known && known.until > this.now()) return known.caller;
      const taken = this.sweeps.take(address, SWEEPS_PER_ADDRESS_PER_MINUTE);
      if (!taken.allowed) {
        throw new ApiError(
          429,
          'rate_limited',
          `user tokens that name no app are tried against every app's signing secrets, ${SWEEPS_PER_ADDRESS_PER_MINUTE} a minute per address: put the signing secret's id (sks_…) or the app id in the token's kid; retry in ${taken.retryAfter} s`,
          undefined,
          { 'retry-after': String(taken.retryAfter) },
        );
      }
    }
    let reason = 'user token signature does not verify with any app';
    for (const { app, secret } of await this.candidates(hint)) {
      try {
        const claims = await verifyUserToken(token, secret, nowS, this.clockSkewS, this.maxLifetimeS);
        const caller = { kind: 'user' as const, app, userId: claims.sub };
        if (digest) this.remember(digest, caller, claims.exp * 1000);
        return caller;
      } catch (e) {
        if (!(e instanceof TokenError)) throw e;
        // A token whose signature verifies but whose claims are bad (expired, no exp) says so.
        if (!/signature/.test(e.message)) {
          reason = e.message;
          break;
        }
      }
    }
    throw unauthorized(`invalid user token: ${reason}`);
  }

  private remember(digest: string, caller: Caller & { kind: 'user' }, expMs: number): void {
    if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
    this.verified.set(digest, { caller, until: Math.min(expMs, this.now() + VERIFIED_TTL_MS) });
  }

  private async candidates(hint: string | undefined): Promise<{ app: App; secret: string }[]> {
    if (hint?.startsWith('sks_')) {
      const row = await getSigningSecret(this.db, hint);
      const live = row && (row.retiresAt === null || row.retiresAt.getTime() > this.now());
      const app = live ? await getApp(this.db, row.appId) : null;
      return app && row ? [{ app, secret: row.secret }] : [];
    }
    const apps = hint
      ? [await getApp(this.db, hint)].filter((a): a is App => a !== null)
      : await this.allApps();
    const out: { app: App; secret: string }[] = [];
    for (const app of apps) for (const secret of await this.secretsOf(app.id)) out.push({ app, secret });
    return out;
  }

  private async allApps(): Promise<App[]> {
    const t = this.now();
    if (this.apps && this.apps.until > t) return this.apps.list;
    const list: App[] = [];
    let cursor: string | undefined;
    do {
      const page = await listApps(this.db, { limit: 200, ...(cursor ? { cursor } : {}) });
      list.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    this.apps = { list, until: t + SECRETS_TTL_MS };
    return list;
  }

  private async secretsOf(appId: string): Promise<string[]> {
    const t = this.now();
    const hit = this.secrets.get(appId);
    if (hit && hit.until > t) return hit.list;
    const list = (await activeSigningSecrets(this.db, appId)).map((s) => s.secret);
    if (this.secrets.size > 10_000) this.secrets.clear();
    this.secrets.set(appId, { list, until: t + SECRETS_TTL_MS });
    return list;
  }

  /** A new app, a new key or a rotated secret must be usable at once in this process. */
  forgetApps(): void {
    this.apps = null;
    this.secrets.clear();
    this.byKey.clear();
    this.verified.clear();
  }
}
