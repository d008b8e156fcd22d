// Which users are due for retraining (design.md, "Retraining policy"): at least `minFeedback` feedback
// items newer than the data their active adapter was trained on, and no adapter version of theirs
// (whatever its outcome) created within the cool-down.

import { and, desc, eq, gt, inArray, notExists, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { adapters, feedback } from '../../schema/tables.js';
import type { Db } from './database.js';

export interface DueUser {
  appId: string;
  userId: string;
  newFeedback: number;
}

export async function findDueUsers(
  db: Db,
  opts: { minFeedback: number; cooldownSeconds: number; appId?: string; userIds?: string[]; limit?: number },
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
      ),
    )
    .where(
      and(
        opts.appId === undefined ? undefined : eq(feedback.appId, opts.appId),
        opts.userIds === undefined ? undefined : inArray(feedback.userId, opts.userIds),
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
