// Adapter versions and the one active version per owner (a user, or an app-level style).
//
// Status walk: training → candidate → active → retired, or → rejected by the eval gate. Promotion and
// rollback flip the active version in one transaction with the owner's rows locked; the partial unique
// index `adapters_*_active_uq` is the last line of defence against two actives.

import { and, desc, eq, lt, type SQL, sql } from 'drizzle-orm';
import { type Adapter, type AdapterStatus, adapters, type NewAdapter } from '../../schema/tables.js';
import type { Db } from './database.js';
import { RepoError } from './errors.js';
import { newId } from './ids.js';
import { ownerSubject, recordInvalidation } from './invalidations.js';
import type { AdapterOwner } from './owner.js';
import { afterCursor, type Page, type PageRequest, pageLimit, toPage } from './pagination.js';
import { recordAdapterEvent } from './webhooks.js';

export type { AdapterOwner };

function ownerWhere(owner: AdapterOwner): SQL {
  return 'userId' in owner
    ? (and(
        eq(adapters.appId, owner.appId),
        eq(adapters.kind, 'user'),
        eq(adapters.userId, owner.userId),
      ) as SQL)
    : (and(
        eq(adapters.appId, owner.appId),
        eq(adapters.kind, 'style'),
        eq(adapters.styleId, owner.styleId),
      ) as SQL);
}

function describe(owner: AdapterOwner): string {
  return 'userId' in owner ? `user ${owner.userId}` : `style ${owner.styleId}`;
}

export type AdapterInput = Omit<
  NewAdapter,
  'id' | 'appId' | 'kind' | 'userId' | 'styleId' | 'createdAt' | 'promotedAt' | 'status'
> & { status?: 'training' | 'candidate' | 'rejected' };

/** Records a new version (never active: promote it once its files are completely written). */
export async function insertAdapter(db: Db, owner: AdapterOwner, input: AdapterInput): Promise<Adapter> {
  const [row] = await db
    .insert(adapters)
    .values({
      ...input,
      id: newId('ad'),
      appId: owner.appId,
      ...('userId' in owner
        ? { kind: 'user' as const, userId: owner.userId }
        : { kind: 'style' as const, styleId: owner.styleId }),
      status: input.status ?? 'training',
    })
    .returning();
  if (!row) throw new Error('insert into adapters returned no row');
  return row;
}

export async function getActiveAdapter(db: Db, owner: AdapterOwner): Promise<Adapter | null> {
  const [row] = await db
    .select()
    .from(adapters)
    .where(and(ownerWhere(owner), eq(adapters.status, 'active')))
    .limit(1);
  return row ?? null;
}

export async function getAdapterVersion(
  db: Db,
  owner: AdapterOwner,
  version: string,
): Promise<Adapter | null> {
  const [row] = await db
    .select()
    .from(adapters)
    .where(and(ownerWhere(owner), eq(adapters.version, version)))
    .limit(1);
  return row ?? null;
}

/** Moves a version out of `training` once evaluated: candidate (waiting for promotion) or rejected. */
export async function setAdapterOutcome(
  db: Db,
  owner: AdapterOwner,
  version: string,
  outcome: { status: 'candidate' | 'rejected'; metrics?: Record<string, unknown> },
): Promise<Adapter> {
  const [row] = await db
    .update(adapters)
    .set({ status: outcome.status, ...(outcome.metrics ? { metrics: outcome.metrics } : {}) })
    .where(and(ownerWhere(owner), eq(adapters.version, version), eq(adapters.status, 'training')))
    .returning();
  if (row) return row;
  const existing = await getAdapterVersion(db, owner, version);
  if (!existing) throw new RepoError('not_found', `no adapter version ${version} for ${describe(owner)}`);
  throw new RepoError('conflict', `adapter version ${version} is ${existing.status}, not training`);
}

export interface ActiveFlip {
  active: Adapter;
  /** The version that was active before, now retired (null if there was none or nothing changed). */
  retired: Adapter | null;
}

async function lockOwner(tx: Db, owner: AdapterOwner): Promise<Adapter[]> {
  return tx.select().from(adapters).where(ownerWhere(owner)).for('update');
}

/**
 * Makes `version` the active one; the previously active version is retired. Same transaction, which also
 * records the `adapter.promoted` webhook event (nothing changes, nothing is recorded, when it was active).
 */
export async function promoteAdapter(db: Db, owner: AdapterOwner, version: string): Promise<ActiveFlip> {
  return db.transaction(async (tx) => {
    const rows = await lockOwner(tx, owner);
    const target = rows.find((r) => r.version === version);
    if (!target) throw new RepoError('not_found', `no adapter version ${version} for ${describe(owner)}`);
    if (target.status === 'active') return { active: target, retired: null };
    const bad = badReason(target);
    if (bad) throw new RepoError('conflict', `adapter version ${version} cannot be served: ${bad}`);
    if (target.status === 'training') {
      throw new RepoError('conflict', `adapter version ${version} is still training`);
    }
    const current = rows.find((r) => r.status === 'active');
    const retired = current ? await setStatus(tx, current.id, 'retired') : null;
    const [active] = await tx
      .update(adapters)
      .set({ status: 'active', promotedAt: new Date() })
      .where(eq(adapters.id, target.id))
      .returning();
    if (!active) throw new Error('promoted adapter row vanished');
    await activated(tx, owner, 'adapter.promoted', { active, retired });
    return { active, retired };
  });
}

/**
 * Goes back to the version that was active before the current one (the retired version promoted most
 * recently before it). The current one is retired; its later promotion time keeps a second rollback
 * walking further back instead of flipping between two versions. The `adapter.rolled_back` webhook event
 * is recorded in the same transaction.
 */
export async function rollbackAdapter(db: Db, owner: AdapterOwner): Promise<ActiveFlip> {
  return db.transaction(async (tx) => {
    await lockOwner(tx, owner);
    const [current] = await tx
      .select()
      .from(adapters)
      .where(and(ownerWhere(owner), eq(adapters.status, 'active')));
    if (!current?.promotedAt) throw new RepoError('conflict', `${describe(owner)} has no active adapter`);
    const [previous] = await tx
      .select()
      .from(adapters)
      .where(
        and(ownerWhere(owner), eq(adapters.status, 'retired'), lt(adapters.promotedAt, current.promotedAt)),
      )
      .orderBy(desc(adapters.promotedAt))
      .limit(1);
    if (!previous)
      throw new RepoError('conflict', `${describe(owner)} has no earlier version to roll back to`);
    const retired = await setStatus(tx, current.id, 'retired');
    const active = await setStatus(tx, previous.id, 'active');
    await activated(tx, owner, 'adapter.rolled_back', { active, retired });
    return { active, retired };
  });
}

/**
 * A stored version that cannot be served (corrupt, truncated, wrong shapes, non-finite weights, another base
 * model's): rejected, with why in its metrics (`bad`), so nothing loads it again and no promotion revives it.
 * When it was the active one, the owner has none now: the base model serves them and the next training cycle
 * treats all their feedback as new. Null when the version is gone or already marked.
 */
export async function markAdapterBad(
  db: Db,
  owner: AdapterOwner,
  version: string,
  reason: string,
): Promise<Adapter | null> {
  const bad = JSON.stringify({ reason: reason.slice(0, 500), at: new Date().toISOString() });
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select({ status: adapters.status })
      .from(adapters)
      .where(and(ownerWhere(owner), eq(adapters.version, version)));
    const [row] = await tx
      .update(adapters)
      .set({
        status: 'rejected',
        metrics: sql`${adapters.metrics} || jsonb_build_object('bad', ${bad}::jsonb)`,
      })
      .where(and(ownerWhere(owner), eq(adapters.version, version), sql`not (${adapters.metrics} ? 'bad')`))
      .returning();
    if (row && before?.status === 'active') await activeChanged(tx, owner);
    return row ?? null;
  });
}

/**
 * What every activation writes in its transaction, whoever makes it (the admin API's promotion, rollback or
 * style import, the training worker's publish): the webhook event in the outbox and the notice on which every
 * API process, the one that made the change included, drops its cached active version and wakes its webhook
 * deliverer (core/db/invalidations.ts). Nobody is called back: the notice is the one signal.
 */
async function activated(
  tx: Db,
  owner: AdapterOwner,
  event: 'adapter.promoted' | 'adapter.rolled_back',
  flip: ActiveFlip,
): Promise<void> {
  await recordAdapterEvent(tx, owner, event, flip.active, flip.retired);
  await activeChanged(tx, owner);
}

/** Every API process drops its cached active version of the owner (core/db/invalidations.ts). */
export function activeChanged(tx: Db, owner: AdapterOwner): Promise<void> {
  return recordInvalidation(tx, {
    kind: 'adapter_activated',
    appId: owner.appId,
    subject: ownerSubject(owner),
  });
}

/** Why a version was marked bad, or null. */
export function badReason(row: Adapter): string | null {
  const bad = (row.metrics as { bad?: { reason?: unknown } }).bad;
  return bad ? String(bad.reason ?? 'marked bad') : null;
}

async function setStatus(tx: Db, id: string, status: AdapterStatus): Promise<Adapter> {
  const [row] = await tx.update(adapters).set({ status }).where(eq(adapters.id, id)).returning();
  if (!row) throw new Error(`adapter ${id} vanished`);
  return row;
}

export async function listAdapters(
  db: Db,
  where: { appId: string; userId?: string; styleId?: string; status?: AdapterStatus },
  page: PageRequest = {},
): Promise<Page<Adapter>> {
  const limit = pageLimit(page);
  const rows = await db
    .select()
    .from(adapters)
    .where(
      and(
        eq(adapters.appId, where.appId),
        where.userId === undefined ? undefined : eq(adapters.userId, where.userId),
        where.styleId === undefined ? undefined : eq(adapters.styleId, where.styleId),
        where.status === undefined ? undefined : eq(adapters.status, where.status),
        afterCursor(adapters.createdAt, adapters.id, page),
      ),
    )
    .orderBy(desc(adapters.createdAt), desc(adapters.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => r);
}

/** The users a job has already published a version for (a retried attempt skips them). */
export async function usersPublishedByJob(
  db: Db,
  jobId: string,
): Promise<{ appId: string; userId: string }[]> {
  const rows = await db
    .select({ appId: adapters.appId, userId: adapters.userId })
    .from(adapters)
    .where(and(eq(adapters.jobId, jobId), eq(adapters.kind, 'user')));
  return rows.flatMap((r) => (r.userId === null ? [] : [{ appId: r.appId, userId: r.userId }]));
}

export interface StyleSummary {
  styleId: string;
  activeVersion: string | null;
  versions: number;
  updatedAt: Date;
}

/** An app's styles: each with its version count and active version, most recently changed first. */
export async function listStyles(db: Db, appId: string): Promise<StyleSummary[]> {
  const rows = await db
    .select({
      styleId: adapters.styleId,
      versions: sql<number>`count(*)::int`,
      activeVersion: sql<
        string | null
      >`max(${adapters.version}) filter (where ${adapters.status} = 'active')`,
      updatedAt: sql<string>`max(${adapters.createdAt})`,
    })
    .from(adapters)
    .where(and(eq(adapters.appId, appId), eq(adapters.kind, 'style')))
    .groupBy(adapters.styleId)
    .orderBy(sql`4 desc`);
  return rows.flatMap((r) =>
    r.styleId === null
      ? []
      : [
          {
            styleId: r.styleId,
            versions: r.versions,
            activeVersion: r.activeVersion,
            updatedAt: new Date(r.updatedAt),
          },
        ],
  );
}
