// Generations: what was generated for whom, with which adapter, and how long it took.

import { and, desc, eq } from 'drizzle-orm';
import { type Generation, generations, type NewGeneration } from '../../schema/tables.js';
import type { Db } from './database.js';
import { newId } from './ids.js';
import { afterCursor, type Page, type PageRequest, pageLimit, toPage } from './pagination.js';

export type GenerationInput = Omit<NewGeneration, 'id' | 'createdAt'> & { id?: string };

export async function insertGeneration(db: Db, input: GenerationInput): Promise<Generation> {
  const [row] = await db
    .insert(generations)
    .values({ ...input, id: input.id ?? newId('gen') })
    .returning();
  if (!row) throw new Error('insert into generations returned no row');
  return row;
}

/** A generation of this app (and of this user, when given), or null: ids of other apps are not found. */
export async function getGeneration(
  db: Db,
  where: { appId: string; id: string; userId?: string },
): Promise<Generation | null> {
  const [row] = await db
    .select()
    .from(generations)
    .where(
      and(
        eq(generations.appId, where.appId),
        eq(generations.id, where.id),
        where.userId === undefined ? undefined : eq(generations.userId, where.userId),
      ),
    )
    .limit(1);
  return row ?? null;
}

export async function listGenerations(
  db: Db,
  where: { appId: string; userId?: string },
  page: PageRequest = {},
): Promise<Page<Generation>> {
  const limit = pageLimit(page);
  const rows = await db
    .select()
    .from(generations)
    .where(
      and(
        eq(generations.appId, where.appId),
        where.userId === undefined ? undefined : eq(generations.userId, where.userId),
        afterCursor(generations.createdAt, generations.id, page),
      ),
    )
    .orderBy(desc(generations.createdAt), desc(generations.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => r);
}
