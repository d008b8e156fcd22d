// Who is calling: API keys, user tokens and the admin token resolved to a caller, with short-lived caches so
// a busy key does not cost a database round trip per request.

import { activeSigningSecrets, findAppByApiKey, getApp, getSigningSecret } from '../../core/db/apps.js';
import type { Db } from '../../core/db/database.js';
import { timingSafeEqual } from '../../core/db/ids.js';
import type { App } from '../../schema/tables.js';
import { looksLikeJwt, TokenError, tokenAppHint, verifyUserToken } from '../auth/jwt.js';
import { unauthorized } from './errors.js';

export type Caller =
  | { kind: 'app'; app: App }
  | { kind: 'user'; app: App; userId: string }
  | { kind: 'admin' };

const KEY_TTL_MS = 30_000;
const SECRETS_TTL_MS = 10_000;

const NO_HINT =
  "invalid user token: it names no app: put the signing secret's id (sks_…, listed with the app's signing " +
  "secrets) or the app id in the header's kid (or the app id in the iss claim)";

export class CallerDirectory {
  private readonly byKey = new Map<string, { app: App | null; until: number }>();
  private readonly secrets = new Map<string, { list: string[]; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly adminToken: string | undefined,
    private readonly now: () => number,
    /** Seconds of clock drift tolerated on user tokens' exp and nbf. */
    private readonly clockSkewS = 0,
    private readonly maxLifetimeS = Number.POSITIVE_INFINITY,
  ) {}

  bearer(header: string | undefined): string {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m?.[1]) throw unauthorized('send Authorization: Bearer <API key or user token>');
    return m[1];
  }

  isAdmin(token: string): boolean {
    return this.adminToken !== undefined && timingSafeEqual(token, this.adminToken);
  }

  /** An app key or a user token; the admin token is no app credential. */
  async appCaller(token: string): Promise<Caller & { kind: 'app' | 'user' }> {
    if (looksLikeJwt(token)) return this.userCaller(token);
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
   * or each of the app's unretired secrets, is tried. A token naming neither is refused before any lookup.
   */
  private async userCaller(token: string): Promise<Caller & { kind: 'user' }> {
    const hint = tokenAppHint(token);
    if (hint === undefined) throw unauthorized(NO_HINT);
    const nowS = Math.floor(this.now() / 1000);
    let reason = 'user token signature does not verify with any app';
    for (const { app, secret } of await this.candidates(hint)) {
      try {
        const claims = await verifyUserToken(token, secret, nowS, this.clockSkewS, this.maxLifetimeS);
        return { kind: 'user', app, userId: claims.sub };
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

  private async candidates(hint: string): Promise<{ app: App; secret: string }[]> {
    if (hint.startsWith('sks_')) {
      const row = await getSigningSecret(this.db, hint);
      const live = row && (row.retiresAt === null || row.retiresAt.getTime() > this.now());
      const app = live ? await getApp(this.db, row.appId) : null;
      return app && row ? [{ app, secret: row.secret }] : [];
    }
    const app = await getApp(this.db, hint);
    return app ? (await this.secretsOf(app.id)).map((secret) => ({ app, secret })) : [];
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
    this.secrets.clear();
    this.byKey.clear();
  }
}
