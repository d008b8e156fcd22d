// The embedded database: PGlite (PostgreSQL compiled to wasm) in a data directory, or in memory.
// Node-only here because of the file data dir; the SQL is the same as on a PostgreSQL server.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import * as tables from '../../schema/tables.js';
import type { Database, Db } from '../db/database.js';

/** PGlite's data lives under `<dataDir>/pglite`; with no dataDir, in memory (tests). */
export async function openPglite(opts: { dataDir?: string } = {}): Promise<Database> {
  let client: PGlite;
  if (opts.dataDir === undefined) {
    client = new PGlite();
  } else {
    const dir = join(opts.dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    client = new PGlite(dir);
  }
  await client.waitReady;
  const db = drizzle(client, { schema: tables }) as unknown as Db;
  return { db, driver: 'pglite', close: () => client.close() };
}
