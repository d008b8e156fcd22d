// The promise docs/operations.md makes about the embedded database: once the compactor's pass after an erasure
// has run, no file of the data directory holds the erased user's text any more (tables and write-ahead log).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../node/pglite.js';
import { createApp } from './apps.js';
import { Compactor } from './compaction.js';
import type { Database } from './database.js';
import { eraseEndUser } from './erase.js';
import { insertFeedback } from './feedback.js';
import { migrate } from './migrate.js';

const MARKER = 'ZEPHYRINE-ONLY-THE-ERASED-WROTE-THIS';
let dir: string;
let database: Database;

/** The data directory's files that hold `text` (as bytes). */
function filesHolding(root: string, text: string): string[] {
  const needle = Buffer.from(text);
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (readFileSync(path).includes(needle)) out.push(path.slice(root.length + 1));
    }
  };
  walk(root);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tailor-compaction-'));
  database = await openPglite({ dataDir: dir });
  await migrate(database.db);
}, 60_000);
afterAll(() => database?.close());

describe('the compactor', () => {
  it("takes an erased user's text out of every file of the data directory in its pass", async () => {
    const db = database.db;
    const { app } = await createApp(db, { name: 'compaction' });
    for (let i = 0; i < 20; i++)
      await insertFeedback(db, { appId: app.id, userId: 'zephyrine', text: `${MARKER} ${i}`, rating: 1 });
    await insertFeedback(db, { appId: app.id, userId: 'stays', text: 'kept', rating: 1 });
    await db.execute('checkpoint');
    expect(filesHolding(join(dir, 'pglite'), MARKER).length).toBeGreaterThan(0);

    await eraseEndUser(db, app.id, 'zephyrine', { userHash: 'h', compaction: true });
    await db.execute('checkpoint');
    // Deleted rows keep their bytes until the table is rewritten: what the pass is for.
    expect(filesHolding(join(dir, 'pglite'), MARKER).length).toBeGreaterThan(0);

    const pass = await new Compactor(db, { intervalMs: 60_000 }).runOnce();
    expect(pass?.tables.map((t) => t.table)).toContain('feedback');
    expect(filesHolding(join(dir, 'pglite'), MARKER)).toEqual([]);
    expect(filesHolding(join(dir, 'pglite'), 'kept').length).toBeGreaterThan(0);
  }, 120_000);

  it('runs on its own within its interval after an erasure, and only when erasures left something', async () => {
    const db = database.db;
    const { app } = await createApp(db, { name: 'scheduled' });
    const compactor = new Compactor(db, { intervalMs: 200 });
    compactor.start();
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(compactor.counts.passes).toBe(0); // no debt: nothing rewritten
      await insertFeedback(db, { appId: app.id, userId: 'oriel', text: `${MARKER}-2`, rating: 1 });
      await eraseEndUser(db, app.id, 'oriel', { userHash: 'h2', compaction: true });
      const t0 = Date.now();
      while (compactor.counts.passes === 0 && Date.now() - t0 < 5_000)
        await new Promise((r) => setTimeout(r, 20));
      expect(compactor.counts.passes).toBe(1);
      expect(filesHolding(join(dir, 'pglite'), `${MARKER}-2`)).toEqual([]);
    } finally {
      await compactor.stop();
    }
  }, 60_000);
});
