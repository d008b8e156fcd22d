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
  /**
   * Calls `onNotify` on every NOTIFY on `channel` (PostgreSQL: any process's; PGlite: its own instance's);
   * resolves to the unsubscribe.
   */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * A stand-in `Db` (the Workers runtime's request-scoped one) answers this symbol with the database of the
 * request running now. Whatever is built on a database and kept (prepared queries) keys on that one.
 */
export const CURRENT_DB = Symbol.for('tailor.db.current');

/** The database queries on `db` run on now: `db` itself, unless it stands in for a per-request one. */
export function underlyingDb(db: Db): Db {
  return (db as unknown as Record<symbol, Db | undefined>)[CURRENT_DB] ?? db;
}

/** One round trip to the database (health checks). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
