// End users of an app, known by the app's own user id.

import { and, desc, eq, sql } from 'drizzle-orm';
import { type EndUser, endUsers } from '../../schema/tables.js';
import type { Db } from './database.js';
import { afterCursor, type Page, type PageRequest, pageLimit, toPage } from './pagination.js';

/** Creates the user on first sight, otherwise moves last_seen to now. */
export async function touchEndUser(db: Db, appId: string, userId: string): Promise<EndUser> {
  const [row] = await db
    .insert(endUsers)
    .values({ appId, userId })
    .onConflictDoUpdate({ target: [endUsers.appId, endUsers.userId], set: { lastSeen: sql`now()` } })
    .returning();
  if (!row) throw new Error('upsert into end_users returned no row');
  return row;
}

export async function getEndUser(db: Db, appId: string, userId: string): Promise<EndUser | null> {
  const [row] = await db
    .select()
    .from(endUsers)
    .where(and(eq(endUsers.appId, appId), eq(endUsers.userId, userId)))
    .limit(1);
  return row ?? null;
}

/** Newest users first. */
export async function listEndUsers(db: Db, appId: string, page: PageRequest = {}): Promise<Page<EndUser>> {
  const limit = pageLimit(page);
  const rows = await db
    .select()
    .from(endUsers)
    .where(and(eq(endUsers.appId, appId), afterCursor(endUsers.createdAt, endUsers.userId, page)))
    .orderBy(desc(endUsers.createdAt), desc(endUsers.userId))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ createdAt: r.createdAt, id: r.userId }));
}
