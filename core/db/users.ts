// End users of an app, known by the app's own user id.

import { and, desc, eq, like, sql } from 'drizzle-orm';
import { adapters, type EndUser, endUsers, feedback, generations } from '../../schema/tables.js';
import { activeChanged } from './adapters.js';
import { type Db, underlyingDb } from './database.js';
import { afterCursor, type Page, type PageRequest, pageLimit, toPage } from './pagination.js';

/**
 * The upsert every route does for a user first seen this minute, built once per database handle and prepared
 * (like the feedback insert: no SQL built per call, and one round trip on PostgreSQL instead of two).
 */
function prepareTouch(db: Db) {
  return db
    .insert(endUsers)
    .values({ appId: sql.placeholder('appId'), userId: sql.placeholder('userId') })
    .onConflictDoUpdate({ target: [endUsers.appId, endUsers.userId], set: { lastSeen: sql`now()` } })
    .returning()
    .prepare('tailor_touch_end_user');
}
const touches = new WeakMap<Db, ReturnType<typeof prepareTouch>>();

/** Creates the user on first sight, otherwise moves last_seen to now. */
export async function touchEndUser(db: Db, appId: string, userId: string): Promise<EndUser> {
  const on = underlyingDb(db); // on Workers, this request's database, not the isolate's stand-in
  let touch = touches.get(on);
  if (!touch) {
    touch = prepareTouch(on);
    touches.set(on, touch);
  }
  const [row] = await touch.execute({ appId, userId });
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

/** LIKE's wildcards taken literally. */
const likePrefix = (s: string) => `${s.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

/** Newest users first; with `q`, those whose id starts with it. */
export async function listEndUsers(
  db: Db,
  appId: string,
  page: PageRequest & { q?: string } = {},
): Promise<Page<EndUser>> {
  const limit = pageLimit(page);
  const rows = await db
    .select()
    .from(endUsers)
    .where(
      and(
        eq(endUsers.appId, appId),
        page.q === undefined ? undefined : like(endUsers.userId, likePrefix(page.q)),
        afterCursor(endUsers.createdAt, endUsers.userId, page),
      ),
    )
    .orderBy(desc(endUsers.createdAt), desc(endUsers.userId))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => ({ createdAt: r.createdAt, id: r.userId }));
}

export interface UserActivity {
  likes: number;
  dislikes: number;
  edits: number;
  generations: number;
  versions: number;
  activeVersion: string | null;
}

/** What a user did and has: feedback by kind, generations, adapter versions and the active one. */
export async function userActivity(db: Db, appId: string, userId: string): Promise<UserActivity> {
  const [fb] = await db
    .select({
      likes: sql<number>`(count(*) filter (where ${feedback.rating} = 1 and ${feedback.editedText} is null))::int`,
      dislikes: sql<number>`(count(*) filter (where ${feedback.rating} = -1 and ${feedback.editedText} is null))::int`,
      edits: sql<number>`(count(*) filter (where ${feedback.editedText} is not null))::int`,
    })
    .from(feedback)
    .where(and(eq(feedback.appId, appId), eq(feedback.userId, userId)));
  const [gen] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(generations)
    .where(and(eq(generations.appId, appId), eq(generations.userId, userId)));
  const [ad] = await db
    .select({
      n: sql<number>`count(*)::int`,
      active: sql<string | null>`max(${adapters.version}) filter (where ${adapters.status} = 'active')`,
    })
    .from(adapters)
    .where(and(eq(adapters.appId, appId), eq(adapters.kind, 'user'), eq(adapters.userId, userId)));
  return {
    likes: fb?.likes ?? 0,
    dislikes: fb?.dislikes ?? 0,
    edits: fb?.edits ?? 0,
    generations: gen?.n ?? 0,
    versions: ad?.n ?? 0,
    activeVersion: ad?.active ?? null,
  };
}

/**
 * Opts a user out of training (their feedback is kept; no adapter is trained; the active version is retired,
 * so they are served the base model) or back in. Creates the user row when the user was never seen.
 */
export async function setTrainingOptOut(
  db: Db,
  appId: string,
  userId: string,
  optOut: boolean,
): Promise<{ user: EndUser; retired: string | null }> {
  return db.transaction(async (tx) => {
    const [user] = await tx
      .insert(endUsers)
      .values({ appId, userId, trainingOptOutAt: optOut ? sql`now()` : null })
      .onConflictDoUpdate({
        target: [endUsers.appId, endUsers.userId],
        set: { trainingOptOutAt: optOut ? sql`coalesce(${endUsers.trainingOptOutAt}, now())` : null },
      })
      .returning();
    if (!user) throw new Error('upsert into end_users returned no row');
    if (!optOut) return { user, retired: null };
    const retired = await tx
      .update(adapters)
      .set({ status: 'retired' })
      .where(
        and(
          eq(adapters.appId, appId),
          eq(adapters.kind, 'user'),
          eq(adapters.userId, userId),
          eq(adapters.status, 'active'),
        ),
      )
      .returning({ version: adapters.version });
    if (retired.length > 0) await activeChanged(tx, { appId, userId });
    return { user, retired: retired[0]?.version ?? null };
  });
}

/** Whether the user may be trained: they have feedback (none after an erasure) and have not opted out. */
export async function isTrainable(db: Db, appId: string, userId: string): Promise<boolean> {
  const [row] = await db
    .select({
      feedback: sql<boolean>`exists (select 1 from ${feedback} where ${feedback.appId} = ${appId} and ${feedback.userId} = ${userId})`,
      optedOut: sql<boolean>`exists (select 1 from ${endUsers} where ${endUsers.appId} = ${appId} and ${endUsers.userId} = ${userId} and ${endUsers.trainingOptOutAt} is not null)`,
    })
    .from(sql`(select 1) as one`);
  return Boolean(row?.feedback) && !row?.optedOut;
}
