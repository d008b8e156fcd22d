// Erase epochs: how many times each (app, user hash) was erased (`erased_users`, core/erasure/user-hash.ts).
// An erasure and a publish of the same user serialize on a transaction-scoped advisory lock of that user, so a
// version trained on feedback read before an erasure can never be published after it: either the publish
// commits first (and the erasure then deletes it, files included) or it sees the epoch moved and refuses.
import { and, eq, sql } from 'drizzle-orm';
import { erasedUsers } from '../../schema/tables.js';
import type { Db } from './database.js';

/** Holds the user's erasure lock until the caller's transaction ends. */
export async function lockUserForErasure(tx: Db, appId: string, userHash: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`erase:${appId}:${userHash}`}, 0))`);
}

/** The user's erase epoch now: 0 for one never erased. */
export async function erasureEpoch(db: Db, appId: string, userHash: string): Promise<number> {
  const [row] = await db
    .select({ epoch: erasedUsers.epoch })
    .from(erasedUsers)
    .where(and(eq(erasedUsers.appId, appId), eq(erasedUsers.userHash, userHash)));
  return row?.epoch ?? 0;
}

/** Moves the user's epoch on (in the erasure's transaction); returns the new one. */
export async function bumpErasureEpoch(tx: Db, appId: string, userHash: string): Promise<number> {
  const [row] = await tx
    .insert(erasedUsers)
    .values({ appId, userHash })
    .onConflictDoUpdate({
      target: [erasedUsers.appId, erasedUsers.userHash],
      set: { epoch: sql`${erasedUsers.epoch} + 1`, erasedAt: sql`now()` },
    })
    .returning({ epoch: erasedUsers.epoch });
  if (!row) throw new Error('upsert into erased_users returned no row');
  return row.epoch;
}
