// Which adapters a request applies: the user's active version (read through a short-TTL cache, since it
// changes once per training cycle), an explicit version, and app-level styles with their weights. The
// result is a list of engine AdapterRefs whose files load from storage on an engine cache miss.

import { readAdapterFiles } from '../../core/adapters/publish.js';
import { type AdapterOwner, getActiveAdapter, getAdapterVersion } from '../../core/db/adapters.js';
import type { Db } from '../../core/db/database.js';
import type { BlobStore } from '../../core/storage/store.js';
import type { AdapterChoice, StyleWeight } from '../../schema/contracts.js';
import type { Adapter } from '../../schema/tables.js';
import type { AdapterRef } from '../engine/engine.js';
import { ApiError, notFound } from '../http/errors.js';

export interface ResolvedAdapters {
  refs: AdapterRef[];
  /** The user's adapter version applied, or null (base model, styles aside). */
  user: { version: string } | null;
  styles: { id: string; version: string; weight: number }[];
}

const ACTIVE_TTL_MS = 5_000;

export class AdapterResolver {
  private readonly active = new Map<string, { row: Adapter | null; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly store: BlobStore,
    private readonly now: () => number,
    private readonly ttlMs = ACTIVE_TTL_MS,
  ) {}

  async resolve(
    appId: string,
    userId: string,
    choice: AdapterChoice,
    styles: StyleWeight[],
  ): Promise<ResolvedAdapters> {
    let userRow: Adapter | null = null;
    if (choice === 'auto') userRow = await this.activeOf({ appId, userId });
    else if (choice !== 'none') {
      userRow = await getAdapterVersion(this.db, { appId, userId }, choice.version);
      if (!userRow) throw notFound(`user ${userId} has no adapter version ${choice.version}`);
      if (userRow.status === 'training') {
        throw new ApiError(409, 'conflict', `adapter version ${choice.version} is still training`);
      }
    }
    const refs: AdapterRef[] = [];
    if (userRow) refs.push(this.ref(userRow, 1));
    const applied: ResolvedAdapters['styles'] = [];
    for (const s of styles) {
      const row = await this.activeOf({ appId, styleId: s.id });
      if (!row) throw notFound(`this app has no active style adapter "${s.id}"`);
      if (s.weight !== 0) refs.push(this.ref(row, s.weight));
      applied.push({ id: s.id, version: row.version, weight: s.weight });
    }
    return { refs, user: userRow ? { version: userRow.version } : null, styles: applied };
  }

  /** After a promotion, rollback or erasure in this process; other processes converge within the TTL. */
  forget(owner: AdapterOwner): void {
    this.active.delete(ownerKey(owner));
  }

  private async activeOf(owner: AdapterOwner): Promise<Adapter | null> {
    const key = ownerKey(owner);
    const t = this.now();
    const hit = this.active.get(key);
    if (hit && hit.until > t) return hit.row;
    const row = await getActiveAdapter(this.db, owner);
    if (this.active.size > 50_000) this.active.clear();
    this.active.set(key, { row, until: t + this.ttlMs });
    return row;
  }

  private ref(row: Adapter, weight: number): AdapterRef {
    const prefix = row.storagePrefix;
    return {
      key: prefix,
      prefix,
      weight,
      load: () => readAdapterFiles(this.store, prefix),
    };
  }
}

function ownerKey(owner: AdapterOwner): string {
  return 'userId' in owner ? `u:${owner.appId}:${owner.userId}` : `s:${owner.appId}:${owner.styleId}`;
}
