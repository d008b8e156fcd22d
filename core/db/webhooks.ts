// Webhooks: the endpoints an app registered, and the outbox of deliveries to them.
//
// An event is written in the transaction that changed the active version (`recordAdapterEvent`, called by
// promoteAdapter and rollbackAdapter), one row per subscribed endpoint, so a crash can never lose one.
// Deliverers claim due rows with FOR UPDATE SKIP LOCKED and a lease, like the training queue: two deliverers
// never hold the same attempt, and a row whose deliverer died is claimed again once its lease ran out. Times
// are the database's clock (now()).

import { and, desc, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import {
  type Adapter,
  apps,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEventType,
  type WebhookSignatureScheme,
  webhookDeliveries,
  webhookEndpoints,
} from '../../schema/tables.js';
import { newWebhookSecret } from '../webhooks/signature.js';
import type { Db } from './database.js';
import { RepoError } from './errors.js';
import { newId } from './ids.js';
import type { AdapterOwner } from './owner.js';

/** The most endpoints one app may register. */
export const MAX_WEBHOOKS_PER_APP = 10;
/** Characters of a failed attempt's error kept. */
const MAX_ERROR_CHARS = 500;

const msFromNow = (ms: number) => sql`now() + make_interval(secs => ${ms / 1000}::double precision)`;

export async function createWebhookEndpoint(
  db: Db,
  input: { appId: string; url: string; events: WebhookEventType[] },
): Promise<WebhookEndpoint> {
  return db.transaction(async (tx) => {
    // The app's row locked: two registrations at once cannot both pass the count.
    await tx.select({ id: apps.id }).from(apps).where(eq(apps.id, input.appId)).for('update');
    const [count] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.appId, input.appId));
    if ((count?.n ?? 0) >= MAX_WEBHOOKS_PER_APP) {
      throw new RepoError(
        'conflict',
        `an app may register at most ${MAX_WEBHOOKS_PER_APP} webhook endpoints; delete one first`,
      );
    }
    const [row] = await tx
      .insert(webhookEndpoints)
      .values({
        id: newId('whk'),
        appId: input.appId,
        url: input.url,
        events: [...new Set(input.events)],
        secret: newWebhookSecret(),
      })
      .returning();
    if (!row) throw new Error('insert into webhook_endpoints returned no row');
    return row;
  });
}

/** An app's endpoints, oldest first (there are at most MAX_WEBHOOKS_PER_APP). */
export async function listWebhookEndpoints(db: Db, appId: string): Promise<WebhookEndpoint[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.appId, appId))
    .orderBy(webhookEndpoints.createdAt, webhookEndpoints.id);
}

/**
 * Gives an endpoint of the app a new secret (the standard kind) and switches it to the standard signature
 * scheme. The secret it had keeps signing deliveries beside the new one for `overlapS` seconds (0: not at all),
 * so the receiver can swap secrets without refusing one; the one kept before is dropped. null when the app has
 * no such endpoint.
 */
export async function rotateWebhookSecret(
  db: Db,
  appId: string,
  id: string,
  overlapS: number,
): Promise<WebhookEndpoint | null> {
  const e = webhookEndpoints;
  const [row] = await db
    .update(e)
    .set({
      secret: newWebhookSecret(),
      // The right-hand side reads the row as it was: the secret being replaced.
      previousSecret: overlapS > 0 ? sql`${e.secret}` : null,
      previousSecretUntil: overlapS > 0 ? msFromNow(overlapS * 1000) : null,
      signatureScheme: 'standard',
    })
    .where(and(eq(e.appId, appId), eq(e.id, id)))
    .returning();
  return row ?? null;
}

/** Deletes an endpoint of the app and its deliveries; false when the app has no such endpoint. */
export async function deleteWebhookEndpoint(db: Db, appId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.appId, appId), eq(webhookEndpoints.id, id)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/** The JSON body of an event (the same bytes on every attempt: they are what is signed). */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  created_at: string;
  app_id: string;
  data: ({ user: string } | { style: string }) & { version: string; previous_version: string | null };
}

/**
 * Records an adapter event for every endpoint of the owner's app subscribed to it, in the caller's
 * transaction. Returns the event (null when no endpoint wants it: nothing is written).
 */
export async function recordAdapterEvent(
  tx: Db,
  owner: AdapterOwner,
  type: WebhookEventType,
  active: Adapter,
  previous: Adapter | null,
): Promise<WebhookEvent | null> {
  const endpoints = (await listWebhookEndpoints(tx, owner.appId)).filter((e) => e.events.includes(type));
  if (endpoints.length === 0) return null;
  const event: WebhookEvent = {
    id: newId('evt'),
    type,
    created_at: new Date().toISOString(),
    app_id: owner.appId,
    data: {
      ...('userId' in owner ? { user: owner.userId } : { style: owner.styleId }),
      version: active.version,
      previous_version: previous?.version ?? null,
    },
  };
  const body = JSON.stringify(event);
  await tx.insert(webhookDeliveries).values(
    endpoints.map((e) => ({
      id: newId('whd'),
      eventId: event.id,
      endpointId: e.id,
      appId: owner.appId,
      userId: 'userId' in owner ? owner.userId : null,
      event: type,
      body,
    })),
  );
  return event;
}

export interface ClaimedDelivery {
  delivery: WebhookDelivery;
  url: string;
  scheme: WebhookSignatureScheme;
  /** The secrets that sign it: the endpoint's, then the one it replaced while their overlap lasts. */
  secrets: string[];
}

/**
 * Takes up to `limit` due deliveries for `workerId`: pending ones whose next attempt has come and no
 * deliverer holds (or whose lease ran out). Each claim counts as an attempt. A row whose lease ran out on its
 * last attempt is failed on the way.
 */
export async function claimWebhookDeliveries(
  db: Db,
  input: { workerId: string; leaseMs: number; maxAttempts: number; limit: number },
): Promise<ClaimedDelivery[]> {
  const d = webhookDeliveries;
  const free = or(isNull(d.lockedUntil), lt(d.lockedUntil, sql`now()`));
  return db.transaction(async (tx) => {
    const exhausted = tx
      .select({ id: d.id })
      .from(d)
      .where(
        and(
          eq(d.status, 'pending'),
          lt(d.lockedUntil, sql`now()`),
          sql`${d.attempts} >= ${input.maxAttempts}`,
        ),
      )
      .for('update', { skipLocked: true });
    await tx
      .update(d)
      .set({
        status: 'failed',
        lastError: 'the deliverer stopped during the last attempt',
        lockedBy: null,
        lockedUntil: null,
      })
      .where(inArray(d.id, exhausted));
    const due = tx
      .select({ id: d.id })
      .from(d)
      .where(
        and(
          eq(d.status, 'pending'),
          lte(d.nextAttemptAt, sql`now()`),
          free,
          sql`${d.attempts} < ${input.maxAttempts}`,
        ),
      )
      .orderBy(d.nextAttemptAt, d.id)
      .limit(input.limit)
      .for('update', { skipLocked: true });
    const claimed = await tx
      .update(d)
      .set({
        lockedBy: input.workerId,
        lockedUntil: msFromNow(input.leaseMs),
        attempts: sql`${d.attempts} + 1`,
      })
      .where(inArray(d.id, due))
      .returning();
    if (claimed.length === 0) return [];
    const w = webhookEndpoints;
    const endpoints = await tx
      .select({
        id: w.id,
        url: w.url,
        scheme: w.signatureScheme,
        secret: w.secret,
        previous: sql<string | null>`case when ${w.previousSecretUntil} > now() then ${w.previousSecret} end`,
      })
      .from(w)
      .where(
        inArray(
          w.id,
          claimed.map((c) => c.endpointId),
        ),
      );
    const byId = new Map(endpoints.map((e) => [e.id, e]));
    return claimed
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || a.id.localeCompare(b.id))
      .flatMap((delivery) => {
        const e = byId.get(delivery.endpointId);
        if (!e) return [];
        const secrets = e.previous === null ? [e.secret] : [e.secret, e.previous];
        return [{ delivery, url: e.url, scheme: e.scheme, secrets }];
      });
  });
}

export type AttemptOutcome =
  | { ok: true; status: number }
  | { ok: false; status: number | null; error: string; retryInMs: number | null };

/**
 * Records how a claimed attempt ended: delivered; or failed, to be tried again in `retryInMs` (null: that was
 * the last attempt). false when the lease was lost meanwhile (another deliverer holds the row, or it is gone).
 */
export async function finishWebhookAttempt(
  db: Db,
  id: string,
  workerId: string,
  outcome: AttemptOutcome,
): Promise<boolean> {
  const d = webhookDeliveries;
  const rows = await db
    .update(d)
    .set(
      outcome.ok
        ? {
            status: 'delivered',
            lastStatus: outcome.status,
            lastError: null,
            deliveredAt: sql`now()`,
            lockedBy: null,
            lockedUntil: null,
          }
        : {
            status: outcome.retryInMs === null ? 'failed' : 'pending',
            lastStatus: outcome.status,
            lastError: outcome.error.slice(0, MAX_ERROR_CHARS),
            ...(outcome.retryInMs === null ? {} : { nextAttemptAt: msFromNow(outcome.retryInMs) }),
            lockedBy: null,
            lockedUntil: null,
          },
    )
    .where(and(eq(d.id, id), eq(d.status, 'pending'), eq(d.lockedBy, workerId)))
    .returning({ id: d.id });
  return rows.length > 0;
}

/** An app's deliveries, newest first (`limit` at most 200). */
export async function listWebhookDeliveries(
  db: Db,
  appId: string,
  opts: { endpointId?: string; limit?: number } = {},
): Promise<WebhookDelivery[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.appId, appId),
        opts.endpointId === undefined ? undefined : eq(webhookDeliveries.endpointId, opts.endpointId),
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 200));
}
