// The training job queue on PostgreSQL (and PGlite): claim with FOR UPDATE SKIP LOCKED, hold a lease,
// heartbeat to extend it, complete or fail. A job whose lease ran out (its worker died) is claimed
// again while attempts remain, else it fails for good. Times are the database's clock (now()), so
// workers on machines with skewed clocks agree.

import { and, desc, eq, inArray, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import { type JobStatus, type TrainingJob, trainingJobs } from '../../schema/tables.js';
import type { Db } from './database.js';
import { newId } from './ids.js';
import { afterCursor, type Page, type PageRequest, pageLimit, toPage } from './pagination.js';

/** Log text kept per job; older text is cut from the front. */
export const MAX_JOB_LOG_CHARS = 65_536;

const secondsFromNow = (s: number) => sql`now() + make_interval(secs => ${s}::double precision)`;

export interface EnqueueInput {
  kind: string;
  payload?: unknown;
  appId?: string | null;
  maxAttempts?: number;
  /** Delay before the job may be claimed. */
  delaySeconds?: number;
}

export async function enqueueJob(db: Db, input: EnqueueInput): Promise<TrainingJob> {
  const [row] = await db
    .insert(trainingJobs)
    .values({
      id: newId('job'),
      kind: input.kind,
      payload: input.payload ?? {},
      appId: input.appId ?? null,
      maxAttempts: input.maxAttempts ?? 3,
      runAfter: input.delaySeconds ? secondsFromNow(input.delaySeconds) : sql`now()`,
    })
    .returning();
  if (!row) throw new Error('insert into training_jobs returned no row');
  return row;
}

export interface ClaimInput {
  workerId: string;
  leaseSeconds: number;
  /** Only jobs of these kinds (default: any). */
  kinds?: string[];
  limit?: number;
}

/**
 * Takes up to `limit` runnable jobs: queued ones whose run_after has come, and running ones whose lease
 * expired with attempts left. Expired ones without attempts left are failed on the way.
 */
export async function claimJobs(db: Db, input: ClaimInput): Promise<TrainingJob[]> {
  const j = trainingJobs;
  const kindWhere = input.kinds ? inArray(j.kind, input.kinds) : undefined;
  const expired = and(eq(j.status, 'running'), lt(j.lockedUntil, sql`now()`));
  return db.transaction(async (tx) => {
    const exhausted = tx
      .select({ id: j.id })
      .from(j)
      .where(and(kindWhere, expired, sql`${j.attempts} >= ${j.maxAttempts}`))
      .for('update', { skipLocked: true });
    await tx
      .update(j)
      .set({
        status: 'failed',
        error: sql`coalesce(${j.error} || '; ', '') || 'lease expired on the last attempt'`,
        finishedAt: sql`now()`,
        lockedBy: null,
        lockedUntil: null,
      })
      .where(inArray(j.id, exhausted));
    const runnable = tx
      .select({ id: j.id })
      .from(j)
      .where(
        and(
          kindWhere,
          or(
            and(eq(j.status, 'queued'), lte(j.runAfter, sql`now()`)),
            and(expired, sql`${j.attempts} < ${j.maxAttempts}`),
          ),
        ),
      )
      .orderBy(j.runAfter, j.createdAt)
      .limit(input.limit ?? 1)
      .for('update', { skipLocked: true });
    const claimed = await tx
      .update(j)
      .set({
        status: 'running',
        lockedBy: input.workerId,
        lockedUntil: secondsFromNow(input.leaseSeconds),
        attempts: sql`${j.attempts} + 1`,
        startedAt: sql`coalesce(${j.startedAt}, now())`,
      })
      .where(inArray(j.id, runnable))
      .returning();
    return claimed.sort((a, b) => a.runAfter.getTime() - b.runAfter.getTime() || a.id.localeCompare(b.id));
  });
}

function heldBy(id: string, workerId: string): SQL {
  return and(
    eq(trainingJobs.id, id),
    eq(trainingJobs.status, 'running'),
    eq(trainingJobs.lockedBy, workerId),
  ) as SQL;
}

export interface HeartbeatInput {
  id: string;
  workerId: string;
  leaseSeconds: number;
  /** Replaces the job's progress object. */
  progress?: Record<string, unknown>;
  /** Appended to the job's log. */
  log?: string;
}

/** Extends the lease (and records progress). false: the lease is lost, stop working on the job. */
export async function heartbeatJob(db: Db, input: HeartbeatInput): Promise<boolean> {
  const rows = await db
    .update(trainingJobs)
    .set({
      lockedUntil: secondsFromNow(input.leaseSeconds),
      ...(input.progress ? { progress: input.progress } : {}),
      ...(input.log ? { log: appendLog(input.log) } : {}),
    })
    .where(heldBy(input.id, input.workerId))
    .returning({ id: trainingJobs.id });
  return rows.length > 0;
}

function appendLog(text: string): SQL {
  return sql`right(${trainingJobs.log} || ${text}, ${MAX_JOB_LOG_CHARS})`;
}

/** Marks the job succeeded; null when this worker no longer holds it. */
export async function completeJob(
  db: Db,
  input: { id: string; workerId: string; result?: unknown; log?: string },
): Promise<TrainingJob | null> {
  const [row] = await db
    .update(trainingJobs)
    .set({
      status: 'succeeded',
      result: input.result ?? null,
      finishedAt: sql`now()`,
      lockedBy: null,
      lockedUntil: null,
      ...(input.log ? { log: appendLog(input.log) } : {}),
    })
    .where(heldBy(input.id, input.workerId))
    .returning();
  return row ?? null;
}

export interface FailInput {
  id: string;
  workerId: string;
  error: string;
  /** false for errors that another attempt cannot fix (bad payload): failed for good at once. */
  retryable?: boolean;
  /** Delay before the next attempt; default 5 s doubling per attempt, at most 5 minutes. */
  retryDelaySeconds?: number;
  log?: string;
}

/** Records a failed attempt: back to queued while attempts remain (and retryable), else failed. */
export async function failJob(db: Db, input: FailInput): Promise<TrainingJob | null> {
  return db.transaction(async (tx) => {
    const [job] = await tx.select().from(trainingJobs).where(heldBy(input.id, input.workerId)).for('update');
    if (!job) return null;
    const retry = (input.retryable ?? true) && job.attempts < job.maxAttempts;
    const delay = input.retryDelaySeconds ?? Math.min(300, 5 * 2 ** Math.max(0, job.attempts - 1));
    const [row] = await tx
      .update(trainingJobs)
      .set({
        status: retry ? 'queued' : 'failed',
        error: input.error,
        lockedBy: null,
        lockedUntil: null,
        ...(retry ? { runAfter: secondsFromNow(delay) } : { finishedAt: sql`now()` }),
        ...(input.log ? { log: appendLog(input.log) } : {}),
      })
      .where(eq(trainingJobs.id, job.id))
      .returning();
    return row ?? null;
  });
}

export async function getJob(db: Db, id: string): Promise<TrainingJob | null> {
  const [row] = await db.select().from(trainingJobs).where(eq(trainingJobs.id, id)).limit(1);
  return row ?? null;
}

export async function listJobs(
  db: Db,
  where: { appId?: string; status?: JobStatus; kind?: string } = {},
  page: PageRequest = {},
): Promise<Page<TrainingJob>> {
  const limit = pageLimit(page);
  const j = trainingJobs;
  const rows = await db
    .select()
    .from(j)
    .where(
      and(
        where.appId === undefined ? undefined : eq(j.appId, where.appId),
        where.status === undefined ? undefined : eq(j.status, where.status),
        where.kind === undefined ? undefined : eq(j.kind, where.kind),
        afterCursor(j.createdAt, j.id, page),
      ),
    )
    .orderBy(desc(j.createdAt), desc(j.id))
    .limit(limit + 1);
  return toPage(rows, limit, (r) => r);
}

/** The payloads of the jobs of one kind that are queued or running (what a new cycle must not repeat). */
export async function openJobPayloads(db: Db, kind: string): Promise<unknown[]> {
  const rows = await db
    .select({ payload: trainingJobs.payload })
    .from(trainingJobs)
    .where(and(eq(trainingJobs.kind, kind), inArray(trainingJobs.status, ['queued', 'running'])));
  return rows.map((r) => r.payload);
}
