// Apps and their API keys. A key is `tlk_` + 12 lookup characters + 43 secret characters; the lookup
// part is stored in clear (unique index), the whole key only as a SHA-256 hash — a high-entropy key
// needs no slow hash. The app's signing secret is stored in clear: user JWTs (HS256) are verified with it.

import { and, asc, desc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import {
  type ApiKey,
  type App,
  apiKeys,
  apps,
  endUsers,
  feedback,
  generations,
  type SigningSecret,
  signingSecrets,
} from '../../schema/tables.js';
import { sha256Hex } from '../util/encoding.js';
import type { Db } from './database.js';
import { newId, randomToken, timingSafeEqual } from './ids.js';
import { recordInvalidation } from './invalidations.js';
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
    // The first signing secret is the app row's own (which also keys its generation ids).
    await tx.insert(signingSecrets).values({ id: newId('sks'), appId: app.id, secret: app.signingSecret });
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

/** Revokes the key; every API process refuses it at once (core/db/invalidations.ts), not after its cache. */
export async function revokeApiKey(db: Db, appId: string, keyId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.appId, appId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
      .returning({ prefix: apiKeys.prefix });
    const [row] = rows;
    if (row) await recordInvalidation(tx, { kind: 'key_revoked', appId, subject: row.prefix });
    return rows.length > 0;
  });
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

/** The app's API keys, newest first (prefixes and dates only: the keys themselves are not kept). */
export async function listApiKeys(db: Db, appId: string): Promise<ApiKey[]> {
  return db.select().from(apiKeys).where(eq(apiKeys.appId, appId)).orderBy(desc(apiKeys.createdAt));
}

/** Secrets that verify the app's user tokens now: the current one and those inside their overlap. */
export async function activeSigningSecrets(db: Db, appId: string): Promise<SigningSecret[]> {
  return db
    .select()
    .from(signingSecrets)
    .where(
      and(
        eq(signingSecrets.appId, appId),
        or(isNull(signingSecrets.retiresAt), gt(signingSecrets.retiresAt, sql`now()`)),
      ),
    )
    .orderBy(desc(signingSecrets.createdAt));
}

export async function getSigningSecret(db: Db, id: string): Promise<SigningSecret | null> {
  const [row] = await db.select().from(signingSecrets).where(eq(signingSecrets.id, id)).limit(1);
  return row ?? null;
}

export async function listSigningSecrets(db: Db, appId: string): Promise<SigningSecret[]> {
  return db
    .select()
    .from(signingSecrets)
    .where(eq(signingSecrets.appId, appId))
    .orderBy(asc(signingSecrets.createdAt));
}

/**
 * A new current signing secret; the ones valid until now keep verifying tokens for at most `overlapSeconds`,
 * so tokens already handed out work until they are re-minted with the new one.
 */
export async function rotateSigningSecret(
  db: Db,
  appId: string,
  overlapSeconds: number,
): Promise<{ created: SigningSecret; retiring: SigningSecret[] }> {
  return db.transaction(async (tx) => {
    const until = sql`now() + make_interval(secs => ${overlapSeconds}::double precision)`;
    // Every secret still valid retires by the end of this overlap (sooner if it was going to already), so
    // a rotation with no overlap leaves only the new secret: what to do when one has leaked.
    const retiring = await tx
      .update(signingSecrets)
      .set({ retiresAt: until })
      .where(
        and(
          eq(signingSecrets.appId, appId),
          or(isNull(signingSecrets.retiresAt), gt(signingSecrets.retiresAt, until)),
        ),
      )
      .returning();
    const [created] = await tx
      .insert(signingSecrets)
      .values({ id: newId('sks'), appId, secret: randomToken(32) })
      .returning();
    if (!created) throw new Error('insert into signing_secrets returned no row');
    return { created, retiring };
  });
}

export interface AppSummary {
  app: App;
  users: number;
  generations7d: number;
  feedback7d: number;
}

/** A page of apps with their users and last week's volume. */
export async function listAppSummaries(db: Db, page: PageRequest = {}): Promise<Page<AppSummary>> {
  const p = await listApps(db, page);
  if (p.items.length === 0) return { items: [], nextCursor: p.nextCursor };
  const ids = p.items.map((a) => a.id);
  const weekAgo = sql`now() - interval '7 days'`;
  const count = async (table: typeof endUsers | typeof generations | typeof feedback, recent: boolean) => {
    const rows = await db
      .select({ appId: table.appId, n: sql<number>`count(*)::int` })
      .from(table)
      .where(and(inArray(table.appId, ids), recent ? gt(table.createdAt, weekAgo) : undefined))
      .groupBy(table.appId);
    return new Map(rows.map((r) => [r.appId, r.n]));
  };
  const [users, gens, fbs] = await Promise.all([
    count(endUsers, false),
    count(generations, true),
    count(feedback, true),
  ]);
  return {
    items: p.items.map((app) => ({
      app,
      users: users.get(app.id) ?? 0,
      generations7d: gens.get(app.id) ?? 0,
      feedback7d: fbs.get(app.id) ?? 0,
    })),
    nextCursor: p.nextCursor,
  };
}
