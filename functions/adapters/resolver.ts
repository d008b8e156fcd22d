// Which adapters a request applies: the user's active version (read through a short-TTL cache, since it
// changes once per training cycle), an explicit version, and app-level styles with their weights. The
// result is a list of plain engine references (base, storage prefix, kind, weight); the engine's loader reads
// their files from storage on a cache miss, and checks each package names the base it serves.

import { type AdapterOwner, badReason, getActiveAdapter, getAdapterVersion } from '../../core/db/adapters.js';
import type { Db } from '../../core/db/database.js';
import { Fences } from '../../core/util/fences.js';
import type { AdapterRef } from '../../engine/index.js';
import type { AdapterChoice, StyleWeight } from '../../schema/contracts.js';
import type { Adapter } from '../../schema/tables.js';
import { conflict, notFound } from '../usecases/errors.js';

export interface ResolvedAdapters {
  refs: AdapterRef[];
  /** Whose version each ref is, in the same order (to mark one bad when it cannot be loaded). */
  sources: { owner: AdapterOwner; version: string }[];
  /** The user's adapter version applied, or null (base model, styles aside). */
  user: { version: string } | null;
  styles: { id: string; version: string; weight: number }[];
}

const ACTIVE_TTL_MS = 5_000;
/** Users resolved recently, remembered to match another process's erasure notice (by keyed hash) to an id. */
const MAX_KNOWN_USERS = 100_000;

export class AdapterResolver {
  private readonly active = new Map<string, { row: Adapter | null; until: number }>();
  /** Raised by forget: a read of the active version under way then is not cached. */
  private readonly fences = new Fences();
  /** `${appId}\u0000${userId}` of users resolved lately, least recent first. */
  private readonly known = new Map<string, true>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    private readonly ttlMs = ACTIVE_TTL_MS,
  ) {}

  async resolve(
    appId: string,
    userId: string,
    choice: AdapterChoice,
    styles: StyleWeight[],
  ): Promise<ResolvedAdapters> {
    this.remember(appId, userId);
    let userRow: Adapter | null = null;
    if (choice === 'auto') userRow = await this.activeOf({ appId, userId });
    else if (choice !== 'none') {
      userRow = await getAdapterVersion(this.db, { appId, userId }, choice.version);
      if (!userRow) throw notFound(`user ${userId} has no adapter version ${choice.version}`);
      if (userRow.status === 'training') {
        throw conflict(`adapter version ${choice.version} is still training`);
      }
      const bad = badReason(userRow);
      if (bad) throw conflict(`adapter version ${choice.version} cannot be served: ${bad}`);
    }
    const refs: AdapterRef[] = [];
    const sources: ResolvedAdapters['sources'] = [];
    if (userRow) {
      refs.push(this.ref(userRow, 'user', 1));
      sources.push({ owner: { appId, userId }, version: userRow.version });
    }
    const applied: ResolvedAdapters['styles'] = [];
    for (const s of styles) {
      const row = await this.activeOf({ appId, styleId: s.id });
      if (!row) throw notFound(`this app has no active style adapter "${s.id}"`);
      if (s.weight !== 0) {
        refs.push(this.ref(row, 'style', s.weight));
        sources.push({ owner: { appId, styleId: s.id }, version: row.version });
      }
      applied.push({ id: s.id, version: row.version, weight: s.weight });
    }
    return { refs, sources, user: userRow ? { version: userRow.version } : null, styles: applied };
  }

  /**
   * After a promotion, rollback or erasure (in this process, or another's: its invalidation notice). A read
   * of the owner's active version in flight now is served but not cached.
   */
  forget(owner: AdapterOwner): void {
    const key = ownerKey(owner);
    this.fences.raise((k) => k === key);
    this.active.delete(key);
    if ('userId' in owner) this.known.delete(`${owner.appId}\u0000${owner.userId}`);
  }

  /** The users of `appId` this process resolved lately (to find whom an erasure notice names). */
  knownUsers(appId: string): string[] {
    const head = `${appId}\u0000`;
    const out: string[] = [];
    for (const k of this.known.keys()) if (k.startsWith(head)) out.push(k.slice(head.length));
    return out;
  }

  private remember(appId: string, userId: string): void {
    const k = `${appId}\u0000${userId}`;
    this.known.delete(k);
    this.known.set(k, true);
    if (this.known.size > MAX_KNOWN_USERS) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }

  private async activeOf(owner: AdapterOwner): Promise<Adapter | null> {
    const key = ownerKey(owner);
    const t = this.now();
    const hit = this.active.get(key);
    if (hit && hit.until > t) return hit.row;
    const mark = this.fences.mark();
    const row = await getActiveAdapter(this.db, owner);
    if (this.fences.crossed(key, mark)) return row;
    if (this.active.size > 50_000) this.active.clear();
    this.active.set(key, { row, until: t + this.ttlMs });
    return row;
  }

  /** A version as the engine is asked for it: it runs on the base it was trained (or imported) for. */
  private ref(row: Adapter, kind: AdapterRef['kind'], weight: number): AdapterRef {
    return { base: row.baseModelId, key: row.storagePrefix, kind, weight };
  }
}

function ownerKey(owner: AdapterOwner): string {
  return 'userId' in owner ? `u:${owner.appId}:${owner.userId}` : `s:${owner.appId}:${owner.styleId}`;
}
