// The invalidation feed: what every API process must drop from its caches when another process changed it
// (an erased user, a revoked key, an adapter owner's new active version). A row is written in the transaction
// that made the change, with a NOTIFY on `tailor_invalidations` delivered at its commit; processes read the rows
// after the last they saw (on a notice, and by polling as a floor: a transaction-mode pooler drops notices, and
// Workers cannot listen). Rows older than a day are pruned; a process that was away longer drops everything.
import { and, asc, gt, lt, sql } from 'drizzle-orm';
import { type Invalidation, type InvalidationKind, invalidations } from '../../schema/tables.js';
import type { Db } from './database.js';

export const INVALIDATION_CHANNEL = 'tailor_invalidations';
/** Rows are kept this long: enough for a poller that missed notices to catch up. */
export const INVALIDATION_RETENTION_MS = 24 * 3600 * 1000;

/** Records an invalidation in the caller's transaction; listeners hear of it when that commits. */
export async function recordInvalidation(
  tx: Db,
  e: { kind: InvalidationKind; appId: string; subject: string },
): Promise<void> {
  await tx.insert(invalidations).values(e);
  await tx.execute(sql`select pg_notify(${INVALIDATION_CHANNEL}, '')`);
}

/**
 * Rows after `seq`, oldest first. Sequence numbers are taken at insert, not at commit: a row may become visible
 * after a later one. Readers therefore look back `overlap` numbers and skip the ones they have applied.
 */
export async function invalidationsAfter(
  db: Db,
  seq: number,
  opts: { overlap?: number; limit?: number } = {},
): Promise<Invalidation[]> {
  return db
    .select()
    .from(invalidations)
    .where(gt(invalidations.seq, seq - (opts.overlap ?? 0)))
    .orderBy(asc(invalidations.seq))
    .limit(opts.limit ?? 1000);
}

/** The newest sequence number (0: none): where a process that starts now begins reading. */
export async function latestInvalidation(db: Db): Promise<number> {
  const [row] = await db
    .select({ seq: sql<number>`coalesce(max(${invalidations.seq}), 0)::bigint` })
    .from(invalidations);
  return Number(row?.seq ?? 0);
}

/** Deletes rows older than the retention. */
export async function pruneInvalidations(db: Db, olderThanMs = INVALIDATION_RETENTION_MS): Promise<number> {
  const rows = await db
    .delete(invalidations)
    .where(lt(invalidations.at, sql`now() - make_interval(secs => ${olderThanMs / 1000}::double precision)`))
    .returning({ seq: invalidations.seq });
  return rows.length;
}

/** An erased user's adapter notices (they name the user in clear, for the processes that cache them). */
export function ownerSubject(owner: { userId: string } | { styleId: string }): string {
  return 'userId' in owner ? `user:${owner.userId}` : `style:${owner.styleId}`;
}

export const userSubjectWhere = (appId: string, userId: string) =>
  and(sql`${invalidations.appId} = ${appId}`, sql`${invalidations.subject} = ${`user:${userId}`}`);
