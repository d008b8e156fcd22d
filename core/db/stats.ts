// Figures over time for the console's overview, from the rows themselves (generations carry their timings
// and any fallback; feedback its rating and edit; adapter versions their outcome; jobs their end), so they
// hold across every API process, unlike /metrics, which counts per process. Buckets are UTC hours or days.
import { and, eq, gt, inArray, isNotNull, type SQL, sql } from 'drizzle-orm';
import { adapters, feedback, generations, trainingJobs } from '../../schema/tables.js';
import type { Db } from './database.js';

export type Bucket = 'hour' | 'day';

export interface ActivityPoint {
  /** The bucket's start, ISO 8601 UTC. */
  t: string;
  generations: number;
  likes: number;
  dislikes: number;
  edits: number;
  /** Users who generated or sent feedback in the bucket. */
  activeUsers: number;
  /** Mean decode speed of the bucket's generations, and their median time to first token. */
  tokensPerSecond: number | null;
  firstTokenMs: number | null;
  /** Generations served by the base model because their adapters failed to load. */
  fallbacks: number;
}

export interface TrainingPoint {
  t: string;
  promoted: number;
  rejected: number;
  failedJobs: number;
}

const bucketStart = (bucket: Bucket, column: SQL | unknown) =>
  sql<string>`to_char(date_trunc(${bucket}, ${column} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

/** Every bucket start from `since` to now, so a chart shows quiet hours as zero, not as a gap. */
export function bucketStarts(bucket: Bucket, since: Date, now = new Date()): string[] {
  const step = bucket === 'hour' ? 3_600_000 : 86_400_000;
  const first = Math.floor(since.getTime() / step) * step;
  const out: string[] = [];
  for (let t = first; t <= now.getTime(); t += step)
    out.push(new Date(t).toISOString().replace('.000Z', 'Z'));
  return out;
}

export async function activitySeries(
  db: Db,
  q: { appId?: string; bucket: Bucket; since: Date },
): Promise<ActivityPoint[]> {
  const since = q.since.toISOString();
  const g = generations;
  const f = feedback;
  const app = (col: typeof g.appId | typeof f.appId) =>
    q.appId === undefined ? undefined : eq(col, q.appId);
  const total = sql`nullif((${g.timingsMs}->>'total')::float8, 0)`;
  const gens = await db
    .select({
      t: bucketStart(q.bucket, g.createdAt),
      n: sql<number>`count(*)::int`,
      tps: sql<number | null>`avg(${g.completionTokens} * 1000.0 / ${total})::float8`,
      ttft: sql<
        number | null
      >`percentile_cont(0.5) within group (order by (${g.timingsMs}->>'first_token')::float8)`,
      fallbacks: sql<number>`count(${g.fallbackReason})::int`,
    })
    .from(g)
    .where(and(app(g.appId), gt(g.createdAt, sql`${since}::timestamptz`)))
    .groupBy(sql`1`);
  const fbs = await db
    .select({
      t: bucketStart(q.bucket, f.createdAt),
      likes: sql<number>`(count(*) filter (where ${f.rating} = 1 and ${f.editedText} is null))::int`,
      dislikes: sql<number>`(count(*) filter (where ${f.rating} = -1 and ${f.editedText} is null))::int`,
      edits: sql<number>`(count(*) filter (where ${f.editedText} is not null))::int`,
    })
    .from(f)
    .where(and(app(f.appId), gt(f.createdAt, sql`${since}::timestamptz`)))
    .groupBy(sql`1`);
  // Active users: distinct over both tables in each bucket.
  const both = sql`(
    select ${g.createdAt} as at, ${g.userId} as u from ${g} where ${and(app(g.appId), gt(g.createdAt, sql`${since}::timestamptz`))}
    union all
    select ${f.createdAt} as at, ${f.userId} as u from ${f} where ${and(app(f.appId), gt(f.createdAt, sql`${since}::timestamptz`))}
  ) as activity`;
  const users = await db
    .select({ t: bucketStart(q.bucket, sql`activity.at`), n: sql<number>`count(distinct activity.u)::int` })
    .from(both)
    .groupBy(sql`1`);
  const byT = <T extends { t: string }>(rows: T[]) => new Map(rows.map((r) => [r.t, r]));
  const [G, F, U] = [byT(gens), byT(fbs), byT(users)];
  return bucketStarts(q.bucket, q.since).map((t) => ({
    t,
    generations: G.get(t)?.n ?? 0,
    likes: F.get(t)?.likes ?? 0,
    dislikes: F.get(t)?.dislikes ?? 0,
    edits: F.get(t)?.edits ?? 0,
    activeUsers: U.get(t)?.n ?? 0,
    tokensPerSecond: G.get(t)?.tps ?? null,
    firstTokenMs: G.get(t)?.ttft ?? null,
    fallbacks: G.get(t)?.fallbacks ?? 0,
  }));
}

export async function trainingSeries(
  db: Db,
  q: { appId?: string; bucket: Bucket; since: Date },
): Promise<TrainingPoint[]> {
  const since = sql`${q.since.toISOString()}::timestamptz`;
  const a = adapters;
  const versions = await db
    .select({
      t: bucketStart(q.bucket, a.createdAt),
      promoted: sql<number>`(count(*) filter (where ${a.promotedAt} is not null))::int`,
      rejected: sql<number>`(count(*) filter (where ${a.status} = 'rejected'))::int`,
    })
    .from(a)
    .where(
      and(
        q.appId === undefined ? undefined : eq(a.appId, q.appId),
        eq(a.kind, 'user'),
        gt(a.createdAt, since),
      ),
    )
    .groupBy(sql`1`);
  const j = trainingJobs;
  const failed = await db
    .select({ t: bucketStart(q.bucket, j.finishedAt), n: sql<number>`count(*)::int` })
    .from(j)
    .where(
      and(
        q.appId === undefined ? undefined : eq(j.appId, q.appId),
        eq(j.status, 'failed'),
        isNotNull(j.finishedAt),
        gt(j.finishedAt, since),
      ),
    )
    .groupBy(sql`1`);
  const V = new Map(versions.map((r) => [r.t, r]));
  const J = new Map(failed.map((r) => [r.t, r.n]));
  return bucketStarts(q.bucket, q.since).map((t) => ({
    t,
    promoted: V.get(t)?.promoted ?? 0,
    rejected: V.get(t)?.rejected ?? 0,
    failedJobs: J.get(t) ?? 0,
  }));
}

/** Why generations fell back to the base model, most frequent first. */
export async function fallbackReasons(
  db: Db,
  q: { appId?: string; since: Date },
): Promise<{ reason: string; count: number }[]> {
  const g = generations;
  return db
    .select({ reason: sql<string>`${g.fallbackReason}`, count: sql<number>`count(*)::int` })
    .from(g)
    .where(
      and(
        q.appId === undefined ? undefined : eq(g.appId, q.appId),
        isNotNull(g.fallbackReason),
        gt(g.createdAt, sql`${q.since.toISOString()}::timestamptz`),
      ),
    )
    .groupBy(g.fallbackReason)
    .orderBy(sql`2 desc`);
}

/** Users whose own adapter is active (of one app, or all). */
export async function usersWithActiveAdapter(db: Db, appId?: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(adapters)
    .where(
      and(
        appId === undefined ? undefined : eq(adapters.appId, appId),
        eq(adapters.kind, 'user'),
        inArray(adapters.status, ['active']),
      ),
    );
  return row?.n ?? 0;
}
