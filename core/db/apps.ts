// Apps and their API keys. A key is `tlk_` + 12 lookup characters + 43 secret characters; the lookup
// part is stored in clear (unique index), the whole key only as a SHA-256 hash — a high-entropy key
// needs no slow hash. The app's signing secret is stored in clear: user JWTs (HS256) are verified with it.

import { and, desc, eq, isNull } from 'drizzle-orm';
import { type ApiKey, type App, apiKeys, apps } from '../../schema/tables.js';
import { sha256Hex } from '../util/encoding.js';
import type { Db } from './database.js';
import { newId, randomToken, timingSafeEqual } from './ids.js';
import { afterCursor, type Page, type PageRequest, pageLimit, toPage } from './pagination.js';

const KEY_PREFIX = 'tlk_';
const LOOKUP_LENGTH = 12;
const LOOKUP_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function lookupPart(): string {
  let s = '';
  for (const b of crypto.getRandomValues(new Uint8Array(LOOKUP_LENGTH))) s += LOOKUP_ALPHABET[b % 36];
  return s;
}

/** The lookup part of a well-formed key, or null. */
function parseKey(key: string): string | null {
  if (!key.startsWith(KEY_PREFIX) || key.length !== KEY_PREFIX.length + LOOKUP_LENGTH + 43) return null;
  return key.slice(KEY_PREFIX.length, KEY_PREFIX.length + LOOKUP_LENGTH);
}

export interface CreatedApp {
  app: App;
  /** Shown once; only its hash is kept. */
  apiKey: string;
  signingSecret: string;
}

export async function createApp(db: Db, input: { name: string }): Promise<CreatedApp> {
  return db.transaction(async (tx) => {
    const [app] = await tx
      .insert(apps)
      .values({ id: newId('app'), name: input.name, signingSecret: randomToken(32) })
      .returning();
    if (!app) throw new Error('insert into apps returned no row');
    const { key } = await createApiKey(tx, app.id);
    return { app, apiKey: key, signingSecret: app.signingSecret };
  });
}

/** Adds a key to an app (rotation: create the new one, then revoke the old one). */
export async function createApiKey(db: Db, appId: string): Promise<{ key: string; row: ApiKey }> {
  const prefix = lookupPart();
  const key = `${KEY_PREFIX}${prefix}${randomToken(32)}`;
  const [row] = await db
    .insert(apiKeys)
    .values({ id: newId('key'), appId, prefix, hash: await sha256Hex(key) })
    .returning();
  if (!row) throw new Error('insert into api_keys returned no row');
  return { key, row };
}

export async function revokeApiKey(db: Db, appId: string, keyId: string): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.appId, appId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

/** The app a (not revoked) API key belongs to, or null. */
export async function findAppByApiKey(db: Db, key: string): Promise<App | null> {
  const prefix = parseKey(key);
  if (prefix === null) return null;
  const [row] = await db
    .select({ app: apps, hash: apiKeys.hash })
    .from(apiKeys)
    .innerJoin(apps, eq(apps.id, apiKeys.appId))
    .where(and(eq(apiKeys.prefix, prefix), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row) return null;
  return timingSafeEqual(row.hash, await sha256Hex(key)) ? row.app : null;
}

export async function getApp(db: Db, appId: string): Promise<App | null> {
  const [row] = await db.select().from(apps).where(eq(apps.id, appId)).limit(1);
  return row ?? null;
}

export async function listApps(db: Db, page: PageRequest = {}): Promise<Page<App>> {
  const limit = pageLimit(page);
  const rows = await db
    .select()
    .from(apps)
    .where(afterCursor(apps.createdAt, apps.id, page))
    .orderBy(desc(apps.createdAt), desc(apps.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => r);
}
