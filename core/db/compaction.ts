// Compaction of what erasures left in the embedded database's files. PostgreSQL keeps a deleted row's bytes
// in its table's pages until they are reused, and in the write-ahead log until the segment is recycled; a
// server's autovacuum and WAL recycling see to that on their own schedule (docs/operations.md). The embedded
// PGlite has neither running, so an erasure records the tables it left dead rows in (`compaction_debt`, in its
// transaction) and this compactor rewrites them later, in the background:
//   - at most one pass every `intervalMs` (erasures in between share it: a storm of them costs one pass);
//   - one table at a time, with a turn of the event loop between tables: PGlite runs one statement at a time,
//     so a `VACUUM FULL` holds every request for as long as that one table takes (bench/compaction.ts measures
//     it), never for all of them;
//   - then the WAL is switched and checkpointed, so the old segments holding the rows go too.
// A table's debt is cleared only after it was rewritten: a crash mid-pass leaves the rest for the next one.
import { and, eq, lte, sql } from 'drizzle-orm';
import { compactionDebt } from '../../schema/tables.js';
import type { Db } from './database.js';

/** The tables an erasure can leave rows in; nothing else is ever named in a VACUUM. */
const COMPACTABLE = new Set([
  'generations',
  'feedback',
  'adapters',
  'end_users',
  'training_jobs',
  'audit_log',
  'webhook_deliveries',
  'invalidations',
]);

export interface CompactionPass {
  tables: { table: string; ms: number }[];
  ms: number;
}

export interface CompactorOptions {
  /** The shortest time between two passes. */
  intervalMs: number;
  log?: (line: string) => void;
}

export class Compactor {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<CompactionPass | null> | null = null;
  private stopped = true;
  /** Passes done and tables rewritten, for /metrics and tests. */
  readonly counts = { passes: 0, tables: 0 };

  constructor(
    private readonly db: Db,
    private readonly opts: CompactorOptions,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass now (null when there was nothing to compact). Passes never overlap. */
  runOnce(): Promise<CompactionPass | null> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((e) => this.opts.log?.(`[compaction] ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => this.schedule(this.opts.intervalMs));
    }, ms);
    this.timer.unref?.();
  }

  private async pass(): Promise<CompactionPass | null> {
    const debt = (await this.db.select().from(compactionDebt)).filter((d) => COMPACTABLE.has(d.tableName));
    if (debt.length === 0) return null;
    const t0 = performance.now();
    const tables: CompactionPass['tables'] = [];
    for (const { tableName } of debt.sort((a, b) => a.tableName.localeCompare(b.tableName))) {
      const t = performance.now();
      const [started] = await this.db
        .select({ at: sql<Date>`clock_timestamp()` })
        .from(sql`(select 1) as one`);
      await this.db.execute(sql.raw(`vacuum full ${tableName}`));
      // Debt older than the rewrite is paid; an erasure recorded since is left for the next pass.
      await this.db
        .delete(compactionDebt)
        .where(and(eq(compactionDebt.tableName, tableName), lte(compactionDebt.since, sql`${started?.at}`)));
      tables.push({ table: tableName, ms: Math.round(performance.now() - t) });
      this.counts.tables++;
      await new Promise((r) => setTimeout(r, 0)); // requests waiting behind the table go first
    }
    await this.db.execute(sql`set wal_recycle = off`);
    await this.db.execute(sql`select pg_switch_wal()`);
    await this.db.execute(sql`checkpoint`);
    this.counts.passes++;
    const pass = { tables, ms: Math.round(performance.now() - t0) };
    this.opts.log?.(
      `[compaction] rewrote ${tables.map((x) => `${x.table} (${x.ms} ms)`).join(', ')} after erasures`,
    );
    return pass;
  }
}
