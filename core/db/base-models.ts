// Base models known to the platform (the package in storage, its hash and config).

import { asc, eq } from 'drizzle-orm';
import { type BaseModel, baseModels } from '../../schema/tables.js';
import type { Db } from './database.js';

export async function upsertBaseModel(db: Db, input: Omit<BaseModel, 'createdAt'>): Promise<BaseModel> {
  const { id, ...rest } = input;
  const [row] = await db
    .insert(baseModels)
    .values(input)
    .onConflictDoUpdate({ target: baseModels.id, set: rest })
    .returning();
  if (!row) throw new Error(`upsert of base model ${id} returned no row`);
  return row;
}

export async function getBaseModel(db: Db, id: string): Promise<BaseModel | null> {
  const [row] = await db.select().from(baseModels).where(eq(baseModels.id, id)).limit(1);
  return row ?? null;
}

/** Every base model published, oldest first. */
export async function listBaseModels(db: Db): Promise<BaseModel[]> {
  return db.select().from(baseModels).orderBy(asc(baseModels.createdAt), asc(baseModels.id));
}
