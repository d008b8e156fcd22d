// Applies the bundled migrations (schema/migrations/index.ts) on either driver. Idempotent and safe
// when several processes start at once: everything runs in one transaction that first takes a
// transaction-scoped advisory lock, so a second process waits, then finds nothing left to do.
// PostgreSQL DDL is transactional, so a failed migration leaves nothing half-applied.

import { sql } from 'drizzle-orm';
import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { migrations as bundled, type Migration } from '../../schema/migrations/index.js';
import type { Db } from './database.js';

/** Arbitrary constant naming Tailor's migration lock (pg_advisory_xact_lock takes a bigint). */
const MIGRATION_LOCK_KEY = 7_415_926_535_897n;

const appliedMigrations = pgTable('tailor_migrations', {
  tag: text('tag').primaryKey(),
  hash: text('hash').notNull(),
  appliedAt: timestamp('applied_at', { withTimezone: true }).notNull().defaultNow(),
});

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Runs the migrations not yet applied; returns their tags. */
export async function migrate(db: Db, migrations: Migration[] = bundled): Promise<{ applied: string[] }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`));
    await tx.execute(
      sql.raw(
        'create table if not exists tailor_migrations (tag text primary key, hash text not null, applied_at timestamptz not null default now())',
      ),
    );
    const done = new Map((await tx.select().from(appliedMigrations)).map((m) => [m.tag, m.hash]));
    const applied: string[] = [];
    for (const m of migrations) {
      const hash = done.get(m.tag);
      if (hash !== undefined) {
        if (hash !== m.hash) {
          throw new MigrationError(`migration ${m.tag} was edited after it was applied (hash differs)`);
        }
        continue;
      }
      for (const statement of m.statements) await tx.execute(sql.raw(statement));
      await tx.insert(appliedMigrations).values({ tag: m.tag, hash: m.hash });
      applied.push(m.tag);
    }
    return { applied };
  });
}
