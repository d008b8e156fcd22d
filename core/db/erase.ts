// Erasure of an end user (DELETE /v1/users/{user}): every row about them goes in one transaction; the
// caller then deletes the returned storage prefixes (files after rows: a crash in between leaves
// unreferenced files, never rows pointing at missing files).

import { and, eq, like, or, sql } from 'drizzle-orm';
import {
  adapters,
  auditLog,
  endUsers,
  feedback,
  generations,
  trainingJobs,
  webhookDeliveries,
} from '../../schema/tables.js';
import type { Db } from './database.js';

export interface Erasure {
  /** Object-storage prefixes of the user's adapter versions, to delete next. */
  storagePrefixes: string[];
  deleted: {
    generations: number;
    feedback: number;
    adapters: number;
    endUser: boolean;
    /** Webhook deliveries about the user (pending ones included: they are never sent). */
    webhookDeliveries: number;
  };
  /** Training jobs whose payload, result, log or error named the user, rewritten without them. */
  scrubbedJobs: number;
}

/** What stands for an erased user where a record must keep its shape (a job's payload, its log). */
export const ERASED = '(erased)';

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

type Named = { app?: string; appId?: string; user?: string; userId?: string };

/** A job with every trace of the user taken out: payload owners, result entries, log and error mentions. */
function scrubJob(
  job: { payload: unknown; result: unknown; log: string; error: string | null },
  appId: string,
  userId: string,
) {
  const isThem = (x: Named) => (x.app ?? x.appId) === appId && (x.user ?? x.userId) === userId;
  const payload = structuredClone(job.payload) as { users?: Named[] };
  // A payload keeps its shape (at least one owner); an erased owner has no feedback, so it trains nothing.
  if (Array.isArray(payload.users))
    payload.users = payload.users.map((u) => (isThem(u) ? { appId, userId: ERASED } : u));
  const result = structuredClone(job.result) as Record<string, Named[] | unknown> | null;
  if (result && typeof result === 'object') {
    for (const k of ['users', 'skipped', 'failed']) {
      const list = result[k];
      if (Array.isArray(list)) result[k] = list.filter((x: Named) => !isThem(x));
    }
  }
  // Log lines name owners as `{app}/{user}`, then `: ` or a character outside the id alphabet.
  const mention = new RegExp(`${escapeRe(`${appId}/${userId}`)}(?=: |[^A-Za-z0-9_.:@-]|$)`, 'g');
  const text = (t: string) => t.replace(mention, `${appId}/${ERASED}`);
  return { payload, result, log: text(job.log), error: job.error === null ? null : text(job.error) };
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
    const hooks = await tx
      .delete(webhookDeliveries)
      .where(and(eq(webhookDeliveries.appId, appId), eq(webhookDeliveries.userId, userId)))
      .returning({ id: webhookDeliveries.id });
    // Jobs name users in their payloads, results and logs (a style job names none).
    const needle = `%${userId.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    const jobs = await tx
      .select()
      .from(trainingJobs)
      .where(
        and(
          eq(trainingJobs.kind, 'train-users'),
          or(
            like(sql`${trainingJobs.payload}::text`, needle),
            like(sql`coalesce(${trainingJobs.result}::text, '')`, needle),
            like(trainingJobs.log, needle),
            like(sql`coalesce(${trainingJobs.error}, '')`, needle),
          ),
        ),
      );
    let scrubbedJobs = 0;
    for (const job of jobs) {
      const clean = scrubJob(job, appId, userId);
      if (
        JSON.stringify(clean) ===
        JSON.stringify({ payload: job.payload, result: job.result, log: job.log, error: job.error })
      )
        continue;
      await tx
        .update(trainingJobs)
        .set({ payload: clean.payload, result: clean.result, log: clean.log, error: clean.error })
        .where(eq(trainingJobs.id, job.id));
      scrubbedJobs++;
    }
    // The audit log keeps only the fact of the erasure (written by the caller next), nothing done to them.
    // Only entries about the user: an app's user id may be spelled like a key's or a secret's id.
    await tx
      .delete(auditLog)
      .where(and(eq(auditLog.appId, appId), eq(auditLog.subjectKind, 'user'), eq(auditLog.subject, userId)));
    return {
      storagePrefixes: [...new Set(ads.map((a) => a.storagePrefix))].sort(),
      deleted: {
        generations: gens.length,
        feedback: fbs.length,
        adapters: ads.length,
        endUser: users.length > 0,
        webhookDeliveries: hooks.length,
      },
      scrubbedJobs,
    };
  });
}

/**
 * For the embedded PGlite, where nothing else would: rewrites the tables an erasure touched and retires the
 * write-ahead log, so the erased rows' bytes leave the data directory now, not whenever space is reused.
 * (On PostgreSQL, autovacuum and WAL recycling do this on their own schedule; docs/operations.md says how
 * long.) Runs outside any transaction; the tables are locked while they are rewritten.
 */
export async function compactAfterErase(db: Db): Promise<void> {
  await db.execute(
    sql`vacuum full generations, feedback, adapters, end_users, training_jobs, audit_log, webhook_deliveries`,
  );
  await db.execute(sql`set wal_recycle = off`);
  await db.execute(sql`select pg_switch_wal()`);
  await db.execute(sql`checkpoint`);
}
