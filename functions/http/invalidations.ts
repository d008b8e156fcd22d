// The API process's side of the invalidation feed (core/db/invalidations.ts): what another process changed,
// dropped from this one's caches.
//   - `user_erased` names the user by keyed hash: this process hashes the users of that app it knows of (those
//     it resolved adapters for, those it saw lately) and forgets the one that matches, everywhere it keeps them;
//   - `key_revoked`: the caller caches (API keys, signing secrets) are dropped, so the key is refused at once;
//   - `adapter_activated`: the owner's cached active version is dropped.
// On Node a process listens and polls as a floor: PostgreSQL's NOTIFY carries every process's changes, PGlite's
// the embedded database's own (its one process hears what it changed itself, a training worker's promotions
// included, as any other process would); on Workers, which cannot listen, each request polls when the last look
// is older than the poll interval.
import type { Db } from '../../core/db/database.js';
import { invalidationsAfter, latestInvalidation, pruneInvalidations } from '../../core/db/invalidations.js';
import type { UserHasher } from '../../core/erasure/user-hash.js';
import type { Invalidation } from '../../schema/tables.js';

/** Looks this many sequence numbers back: a row may commit after later ones (numbers are taken at insert). */
const OVERLAP = 1000;
const PRUNE_EVERY_MS = 3600_000;

export interface InvalidationTargets {
  /** The users of `appId` whose ids this process holds (in any cache). */
  knownUsers(appId: string): Iterable<string>;
  forgetUser(appId: string, userId: string): Promise<void>;
  forgetOwner(owner: { appId: string; userId: string } | { appId: string; styleId: string }): void;
  forgetCallers(): void;
}

export interface InvalidationOptions {
  db: Db;
  userHash: UserHasher;
  targets: InvalidationTargets;
  /** Milliseconds between looks (a floor under notices; on Workers, the staleness bound). */
  pollMs: number;
  /** Subscribes to the feed's NOTIFY channel (Node: PostgreSQL, PGlite); none: polling alone. */
  listen?: (onNotice: () => void) => Promise<() => Promise<void>>;
  now?: () => number;
  log?: (line: string) => void;
}

export class CacheInvalidator {
  private last = -1;
  private readonly applied = new Set<number>();
  /** Users' keyed hashes, computed once each (a notice is matched against every user of its app known here). */
  private readonly hashes = new Map<string, Promise<string>>();
  private lastLook = Number.NEGATIVE_INFINITY;
  private lastPrune = 0;
  private looking: Promise<void> | null = null;
  private again = false;
  private started = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  /** Notices applied, by kind (tests, /metrics). */
  readonly counts = { user_erased: 0, key_revoked: 0, adapter_activated: 0, looks: 0 };

  constructor(private readonly options: InvalidationOptions) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Starts listening and polling (Node). Changes made before this are not replayed. Once: again is a no-op. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.last = await latestInvalidation(this.options.db);
    this.lastLook = this.now;
    if (this.options.listen) {
      try {
        this.unlisten = await this.options.listen(() => void this.look());
      } catch (e) {
        this.options.log?.(
          `[invalidations] cannot listen (${e instanceof Error ? e.message : e}); polling only`,
        );
      }
    }
    this.timer = setInterval(() => void this.look(), this.options.pollMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.unlisten?.().catch(() => {});
    this.unlisten = null;
    await this.looking;
  }

  /** Workers: looks when the last look is older than the poll interval (each request calls this). */
  async maybeLook(): Promise<void> {
    if (this.now - this.lastLook < this.options.pollMs) return this.looking ?? undefined;
    await this.look();
  }

  /** Reads what is new and applies it; concurrent calls share one look (and one more after it). */
  look(): Promise<void> {
    if (this.looking) {
      this.again = true;
      return this.looking;
    }
    this.looking = (async () => {
      try {
        do {
          this.again = false;
          await this.readOnce();
        } while (this.again);
      } catch (e) {
        this.options.log?.(`[invalidations] ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.looking = null;
      }
    })();
    return this.looking;
  }

  private async readOnce(): Promise<void> {
    this.lastLook = this.now;
    this.counts.looks++;
    if (this.last < 0) this.last = await latestInvalidation(this.options.db); // Workers: the first look sets the start
    const rows = await invalidationsAfter(this.options.db, this.last, { overlap: OVERLAP });
    for (const row of rows) {
      if (this.applied.has(row.seq)) continue;
      await this.apply(row);
      this.applied.add(row.seq);
      this.last = Math.max(this.last, row.seq);
    }
    for (const seq of this.applied) if (seq <= this.last - OVERLAP) this.applied.delete(seq);
    if (this.now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = this.now;
      await pruneInvalidations(this.options.db);
    }
  }

  private async apply(row: Invalidation): Promise<void> {
    const { targets } = this.options;
    this.counts[row.kind]++;
    if (row.kind === 'key_revoked') return targets.forgetCallers();
    if (row.kind === 'adapter_activated') {
      const [kind, ...rest] = row.subject.split(':');
      const id = rest.join(':');
      if (kind === 'user') targets.forgetOwner({ appId: row.appId, userId: id });
      else if (kind === 'style') targets.forgetOwner({ appId: row.appId, styleId: id });
      return;
    }
    for (const userId of new Set(targets.knownUsers(row.appId))) {
      if ((await this.hashOf(row.appId, userId)) === row.subject) await targets.forgetUser(row.appId, userId);
    }
  }

  private hashOf(appId: string, userId: string): Promise<string> {
    const k = `${appId}\u0000${userId}`;
    let h = this.hashes.get(k);
    if (!h) {
      if (this.hashes.size >= 200_000) this.hashes.clear();
      h = this.options.userHash(appId, userId);
      this.hashes.set(k, h);
    }
    return h;
  }
}
