// The embedded database: PGlite (PostgreSQL compiled to wasm) in a data directory, or in memory.
// Node-only here because of the file data dir; the SQL is the same as on a PostgreSQL server.
//
// A new database starts from a template: creating a cluster (initdb) costs PGlite about 5 s, loading an
// initialised one about 1 s. The template is made once per PGlite version by initdb itself, dumped, and kept
// under node_modules/.cache/tailor/; a fresh data directory or an in-memory database is loaded from it.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import * as tables from '../../schema/tables.js';
import type { Database, Db } from '../db/database.js';
import { REPO_ROOT } from './repo.js';

const require = createRequire(import.meta.url);
const PGLITE_VERSION = (
  JSON.parse(
    readFileSync(join(dirname(require.resolve('@electric-sql/pglite')), '../package.json'), 'utf8'),
  ) as {
    version: string;
  }
).version;
const TEMPLATE = join(REPO_ROOT, 'node_modules', '.cache', 'tailor', `pglite-${PGLITE_VERSION}-template.tar`);

let template: Promise<Blob> | undefined;

/** The initialised cluster every new database starts from (made by initdb the first time). */
function clusterTemplate(): Promise<Blob> {
  template ??= (async () => {
    if (existsSync(TEMPLATE)) return new Blob([readFileSync(TEMPLATE)]);
    const fresh = new PGlite();
    await fresh.waitReady;
    const blob = await fresh.dumpDataDir('none');
    await fresh.close();
    try {
      mkdirSync(dirname(TEMPLATE), { recursive: true });
      const tmp = `${TEMPLATE}.${process.pid}.tmp`;
      writeFileSync(tmp, new Uint8Array(await blob.arrayBuffer()));
      renameSync(tmp, TEMPLATE); // atomic: processes racing to make it each write a whole file
    } catch {
      // a read-only install: every process makes its own
    }
    return blob;
  })();
  return template;
}

/** PGlite's data lives under `<dataDir>/pglite`; with no dataDir, in memory (tests). */
export async function openPglite(
  opts: { dataDir?: string } = {},
): Promise<Database & Required<Pick<Database, 'listen'>>> {
  let client: PGlite;
  if (opts.dataDir === undefined) {
    client = new PGlite({ loadDataDir: await clusterTemplate() });
  } else {
    const dir = join(opts.dataDir, 'pglite');
    const fresh = !existsSync(join(dir, 'PG_VERSION'));
    mkdirSync(dir, { recursive: true });
    client = fresh ? new PGlite(dir, { loadDataDir: await clusterTemplate() }) : new PGlite(dir);
  }
  await client.waitReady;
  const db = drizzle(client, { schema: tables }) as unknown as Db;
  return {
    db,
    driver: 'pglite',
    // LISTEN/NOTIFY within this instance: the embedded database's only process hears its own notices (a
    // NOTIFY in a transaction is heard when it commits, before the commit's promise settles).
    async listen(channel, onNotify) {
      const unlisten = await client.listen(channel, () => onNotify());
      return () => unlisten();
    },
    close: () => client.close(),
  };
}
