// What compacting the embedded database after erasures costs (core/db/compaction.ts), at a stated size: a
// PGlite data directory on disk with ROWS generations and ROWS feedback rows (~300 bytes of text each) across
// USERS users. One user is erased, then the compactor's pass rewrites each table that held their rows: the
// time per table is how long PGlite holds every other query (one statement at a time), measured also as the
// longest gap between `select 1` probes sent every 5 ms during the pass. docs/operations.md ("Erasure") promises erased
// bytes leave the data directory within TAILOR_COMPACTION_INTERVAL_S plus this pass.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createApp } from '../core/db/apps.js';
import { Compactor } from '../core/db/compaction.js';
import { eraseEndUser } from '../core/db/erase.js';
import { migrate } from '../core/db/migrate.js';
import { openPglite } from '../core/node/pglite.js';
import { feedback, generations } from '../schema/tables.js';
import { type Measured, round } from './harness.js';
import { type BenchContext, TMP } from './setup.js';

const TEXT =
  'The harbour of Kell lay grey under the morning, and Mara Vell walked down to the boats. '.repeat(3);

export async function run(ctx: BenchContext): Promise<Measured[]> {
  const rows = ctx.quick ? 5_000 : 100_000;
  const users = rows / 50;
  await mkdir(TMP, { recursive: true });
  const dir = await mkdtemp(join(TMP, 'compaction-'));
  const database = await openPglite({ dataDir: dir });
  try {
    const db = database.db;
    await migrate(db);
    const { app } = await createApp(db, { name: 'bench' });
    ctx.log(`compaction: writing ${rows} generations and ${rows} feedback rows over ${users} users`);
    for (let i = 0; i < rows; i += 1000) {
      const batch = Array.from({ length: 1000 }, (_, j) => ({ n: i + j, user: `u${(i + j) % users}` }));
      await db.insert(generations).values(
        batch.map(({ n, user }) => ({
          id: `gen_${n}`,
          appId: app.id,
          userId: user,
          prompt: 'Mara',
          text: TEXT,
          finishReason: 'length',
          promptTokens: 2,
          completionTokens: 60,
        })),
      );
      await db
        .insert(feedback)
        .values(
          batch.map(({ n, user }) => ({ id: `fb_${n}`, appId: app.id, userId: user, text: TEXT, rating: 1 })),
        );
    }
    await db.execute(sql`checkpoint`);
    await eraseEndUser(db, app.id, 'u7', { userHash: 'bench', compaction: true });
    let worst = 0;
    let probing = true;
    // PGlite runs in this thread: while a table is rewritten nothing else runs, the event loop included. The
    // stall a request sees is the longest gap between two probes that each should take ~5 ms.
    const probe = (async () => {
      let last = performance.now();
      while (probing) {
        await db.execute(sql`select 1`);
        await new Promise((r) => setTimeout(r, 5));
        const t = performance.now();
        worst = Math.max(worst, t - last);
        last = t;
      }
    })();
    const pass = await new Compactor(db, { intervalMs: 60_000 }).runOnce();
    probing = false;
    await probe;
    if (!pass) throw new Error('the erasure left nothing to compact');
    const ms = (t: string) => pass.tables.find((x) => x.table === t)?.ms ?? 0;
    return [
      { id: `compaction_generations_${rows}_rows_ms`, value: ms('generations'), unit: 'ms' },
      { id: `compaction_feedback_${rows}_rows_ms`, value: ms('feedback'), unit: 'ms' },
      { id: `compaction_pass_${rows}_rows_ms`, value: pass.ms, unit: 'ms' },
      { id: `compaction_longest_stall_${rows}_rows_ms`, value: round(worst, 1), unit: 'ms' },
    ];
  } finally {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}
