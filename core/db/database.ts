// The one database interface the platform sees: a drizzle PostgreSQL-dialect database (PGlite or
// postgres.js underneath) plus close(). Repository functions take a `Db`, so they also run inside a
// transaction (`PgTransaction` is a `PgDatabase`).

import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as tables from '../../schema/tables.js';

export type Tables = typeof tables;
export type Db = PgDatabase<PgQueryResultHKT, Tables>;

export interface Database {
  db: Db;
  driver: 'pglite' | 'postgres';
  close(): Promise<void>;
}

/** One round trip to the database (health checks). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
