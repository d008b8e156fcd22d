// The holdout experiment's counts (GET /admin/apps/{app}/effect): per UTC day and arm, the generations of the
// experiment made in [from, to), how many were rated and how many liked. A generation rated several times
// counts once, by its latest rating (an edit counts by the rating sent with it). The statistics are
// core/apps/effect.ts's.
import { and, desc, eq, gte, isNotNull, lt, sql } from 'drizzle-orm';
import { feedback, type GenerationArm, generations } from '../../schema/tables.js';
import type { DailyArmCounts } from '../apps/effect.js';
import type { Db } from './database.js';

export async function experimentCounts(
  db: Db,
  q: { appId: string; from: Date; to: Date },
): Promise<DailyArmCounts[]> {
  const g = generations;
  const f = feedback;
  // The experiment's generations of the period (the partial index generations_app_arm_created_idx)...
  const experiment = db.$with('experiment').as(
    db
      .select({ id: g.id, arm: g.arm, createdAt: g.createdAt })
      .from(g)
      .where(
        and(
          eq(g.appId, q.appId),
          isNotNull(g.arm),
          gte(g.createdAt, sql`${q.from.toISOString()}::timestamptz`),
          lt(g.createdAt, sql`${q.to.toISOString()}::timestamptz`),
        ),
      ),
  );
  // ...and the latest rating of each (feedback_app_generation_idx).
  const latest = db
    .$with('latest')
    .as(
      db
        .selectDistinctOn([f.generationId], { generationId: f.generationId, rating: f.rating })
        .from(f)
        .innerJoin(experiment, eq(experiment.id, f.generationId))
        .where(eq(f.appId, q.appId))
        .orderBy(f.generationId, desc(f.createdAt), desc(f.id)),
    );
  const rows = await db
    .with(experiment, latest)
    .select({
      day: sql<string>`to_char(date_trunc('day', ${experiment.createdAt} at time zone 'UTC'), 'YYYY-MM-DD')`,
      arm: sql<GenerationArm>`${experiment.arm}`,
      generations: sql<number>`count(*)::int`,
      rated: sql<number>`count(${latest.rating})::int`,
      likes: sql<number>`(count(*) filter (where ${latest.rating} = 1))::int`,
    })
    .from(experiment)
    .leftJoin(latest, eq(latest.generationId, experiment.id))
    .groupBy(sql`1`, sql`2`)
    .orderBy(sql`1`, sql`2`);
  return rows;
}
