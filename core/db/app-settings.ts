// Each app's settings overrides (core/apps/settings.ts merges them over the platform's defaults).
import { eq, sql } from 'drizzle-orm';
import { appSettings } from '../../schema/tables.js';
import type { Db } from './database.js';

export interface StoredSettings {
  settings: unknown;
  updatedAt: Date;
}

export async function getAppSettings(db: Db, appId: string): Promise<StoredSettings | null> {
  const [row] = await db
    .select({ settings: appSettings.settings, updatedAt: appSettings.updatedAt })
    .from(appSettings)
    .where(eq(appSettings.appId, appId))
    .limit(1);
  return row ?? null;
}

export async function putAppSettings(db: Db, appId: string, settings: object): Promise<StoredSettings> {
  const [row] = await db
    .insert(appSettings)
    .values({ appId, settings: settings as Record<string, unknown> })
    .onConflictDoUpdate({
      target: appSettings.appId,
      set: { settings: settings as Record<string, unknown>, updatedAt: sql`now()` },
    })
    .returning({ settings: appSettings.settings, updatedAt: appSettings.updatedAt });
  if (!row) throw new Error('upsert into app_settings returned no row');
  return row;
}

/** Every app that set something, for the scheduler and the retention sweep. */
export async function listAppSettings(db: Db): Promise<{ appId: string; settings: unknown }[]> {
  return db.select({ appId: appSettings.appId, settings: appSettings.settings }).from(appSettings);
}
