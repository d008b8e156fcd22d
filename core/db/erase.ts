// Erasure of an end user (DELETE /v1/users/{user}): every row about them goes in one transaction; the
// caller then deletes the returned storage prefixes (files after rows: a crash in between leaves
// unreferenced files, never rows pointing at missing files).

import { and, eq } from 'drizzle-orm';
import { adapters, endUsers, feedback, generations } from '../../schema/tables.js';
import type { Db } from './database.js';

export interface Erasure {
  /** Object-storage prefixes of the user's adapter versions, to delete next. */
  storagePrefixes: string[];
  deleted: { generations: number; feedback: number; adapters: number; endUser: boolean };
}

export async function eraseEndUser(db: Db, appId: string, userId: string): Promise<Erasure> {
  return db.transaction(async (tx) => {
    const gens = await tx
      .delete(generations)
      .where(and(eq(generations.appId, appId), eq(generations.userId, userId)))
      .returning({ id: generations.id });
    const fbs = await tx
      .delete(feedback)
      .where(and(eq(feedback.appId, appId), eq(feedback.userId, userId)))
      .returning({ id: feedback.id });
    const ads = await tx
      .delete(adapters)
      .where(and(eq(adapters.appId, appId), eq(adapters.kind, 'user'), eq(adapters.userId, userId)))
      .returning({ storagePrefix: adapters.storagePrefix });
    const users = await tx
      .delete(endUsers)
      .where(and(eq(endUsers.appId, appId), eq(endUsers.userId, userId)))
      .returning({ userId: endUsers.userId });
    return {
      storagePrefixes: [...new Set(ads.map((a) => a.storagePrefix))].sort(),
      deleted: {
        generations: gens.length,
        feedback: fbs.length,
        adapters: ads.length,
        endUser: users.length > 0,
      },
    };
  });
}
