// Erasure of an end user (DELETE /v1/users/{user}): every row about them goes in one transaction; the
// caller then deletes the returned storage prefixes (files after rows: a crash in between leaves
// unreferenced files, never rows pointing at missing files).
//
// An erasure is also a fence. It holds the user's erasure lock, moves their erase epoch on and writes an
// invalidation (both by the user's keyed hash, never the id): a training job that read their feedback before
// cannot publish after, and every API process drops what it cached of them (core/db/invalidations.ts). A user
// with no rows costs only the deletes that find nothing: no epoch, no notice, nothing to compact.

import { and, eq, like, or, sql } from 'drizzle-orm';
import {
  adapters,
  auditLog,
  compactionDebt,
  endUsers,
  feedback,
  generations,
  invalidations,
  trainingJobs,
  webhookDeliveries,
} from '../../schema/tables.js';
import type { Db } from './database.js';
import { bumpErasureEpoch, lockUserForErasure } from './erasures.js';
import { recordInvalidation } from './invalidations.js';

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
  /** The user's erase epoch now; null when they had no rows (nothing was fenced). */
  epoch: number | null;
}

export interface EraseOptions {
  /** The user's keyed hash (core/erasure/user-hash.ts): their epoch and the other processes' notice use it. */
  userHash: string;
  /**
   * Record the tables the erasure left dead rows in, for the embedded database's compactor
   * (core/db/compaction.ts). PostgreSQL servers reclaim space on their own (autovacuum).
   */
  compaction?: boolean;
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

export async function eraseEndUser(
  db: Db,
  appId: string,
  userId: string,
  opts: EraseOptions,
): Promise<Erasure> {
  return db.transaction(async (tx) => {
    await lockUserForErasure(tx, appId, opts.userHash);
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
    // Notices of their adapter changes name them in clear (for the processes that cached them).
    const notices = await tx
      .delete(invalidations)
      .where(
        and(
          eq(invalidations.appId, appId),
          eq(invalidations.kind, 'adapter_activated'),
          eq(invalidations.subject, `user:${userId}`),
        ),
      )
      .returning({ seq: invalidations.seq });
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
    // The audit log keeps only the fact of the erasure (written by the caller next), nothing done to them; only
    // entries about a user: an app's user id may be spelled like a key's or a secret's id.
    const audited = await tx
      .delete(auditLog)
      .where(and(eq(auditLog.appId, appId), eq(auditLog.subjectKind, 'user'), eq(auditLog.subject, userId)))
      .returning({ id: auditLog.id });
    const touched = {
      generations: gens.length,
      feedback: fbs.length,
      adapters: ads.length,
      end_users: users.length,
      webhook_deliveries: hooks.length,
      invalidations: notices.length,
      training_jobs: scrubbedJobs,
      audit_log: audited.length,
    };
    const dirty = Object.entries(touched)
      .filter(([, n]) => n > 0)
      .map(([table]) => table);
    let epoch: number | null = null;
    if (dirty.length > 0) {
      epoch = await bumpErasureEpoch(tx, appId, opts.userHash);
      await recordInvalidation(tx, { kind: 'user_erased', appId, subject: opts.userHash });
      if (opts.compaction) {
        await tx
          .insert(compactionDebt)
          .values(dirty.map((tableName) => ({ tableName })))
          .onConflictDoNothing();
      }
    }
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
      epoch,
    };
  });
}
