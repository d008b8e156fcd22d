// Which users are due for retraining (design: "Retraining policy"): at least `minFeedback` usable feedback
// items newer than the data their active adapter was trained on, and no adapter version of theirs (whatever its
// outcome) created within the cool-down. Cycles are serialised by an advisory lock, so several schedulers (one
// per worker process) can share a database.

import { and, desc, eq, gt, inArray, notExists, notInArray, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { adapters, feedback } from '../../schema/tables.js';
import type { Db } from './database.js';
import { ownerNotOptedOut, usableFeedback } from './feedback.js';

export interface DueUser {
  appId: string;
  userId: string;
  /** Usable feedback items since the active version's data. */
  newFeedback: number;
}

export async function findDueUsers(
  db: Db,
  opts: {
    minFeedback: number;
    cooldownSeconds: number;
    appId?: string;
    /** Leave these apps out (the scheduler asks for them with their own policy). */
    excludeAppIds?: string[];
    userIds?: string[];
    limit?: number;
    /**
     * The base the users train on: an active version on another base does not count (all their feedback is new
     * to this base), so when an app moves to another base its users are due on it at the next cycle.
     */
    base?: string;
  },
): Promise<DueUser[]> {
  const active = alias(adapters, 'active');
  const recent = alias(adapters, 'recent');
  const newFeedback = sql<number>`count(*)::int`;
  return db
    .select({ appId: feedback.appId, userId: feedback.userId, newFeedback })
    .from(feedback)
    .leftJoin(
      active,
      and(
        eq(active.appId, feedback.appId),
        eq(active.kind, 'user'),
        eq(active.userId, feedback.userId),
        eq(active.status, 'active'),
        opts.base === undefined ? undefined : eq(active.baseModelId, opts.base),
      ),
    )
    .where(
      and(
        opts.appId === undefined ? undefined : eq(feedback.appId, opts.appId),
        opts.excludeAppIds?.length ? notInArray(feedback.appId, opts.excludeAppIds) : undefined,
        opts.userIds === undefined ? undefined : inArray(feedback.userId, opts.userIds),
        usableFeedback,
        ownerNotOptedOut, // users who opted out are never due, not even when named
        gt(feedback.createdAt, sql`coalesce(${active.dataUntil}, '-infinity'::timestamptz)`),
        notExists(
          db
            .select({ one: sql`1` })
            .from(recent)
            .where(
              and(
                eq(recent.appId, feedback.appId),
                eq(recent.kind, 'user'),
                eq(recent.userId, feedback.userId),
                gt(
                  recent.createdAt,
                  sql`now() - make_interval(secs => ${opts.cooldownSeconds}::double precision)`,
                ),
              ),
            ),
        ),
      ),
    )
    .groupBy(feedback.appId, feedback.userId)
    .having(sql`count(*) >= ${opts.minFeedback}`)
    .orderBy(desc(newFeedback), feedback.appId, feedback.userId)
    .limit(opts.limit ?? 1000);
}

/** The named users (of one app, or any) that have usable feedback at all: an operator's run skips the policy. */
export async function usersWithUsableFeedback(
  db: Db,
  where: { appId?: string; userIds: string[] },
): Promise<{ appId: string; userId: string }[]> {
  return db
    .selectDistinct({ appId: feedback.appId, userId: feedback.userId })
    .from(feedback)
    .where(
      and(
        where.appId === undefined ? undefined : eq(feedback.appId, where.appId),
        inArray(feedback.userId, where.userIds),
        usableFeedback,
        ownerNotOptedOut, // users who opted out are never due, not even when named
      ),
    )
    .orderBy(feedback.appId, feedback.userId);
}

const CYCLE_LOCK = 0x7a11_0001;

/** Runs `fn` in a transaction that holds the training-cycle lock: one cycle at a time across processes. */
export function withTrainingCycleLock<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${CYCLE_LOCK})` as SQL);
    return fn(tx);
  });
}
