// Training cycles: every `intervalS` (0 = only on demand) and on demand (`runCycle`, behind
// POST /admin/training/run). A cycle picks the due users (design.md, "Retraining policy": at least
// `minFeedback` new usable feedback items since the active version's data, and nothing trained within the
// cool-down) and enqueues `train-users` jobs that train them together, `usersPerJob` per job. An on-demand
// run naming users skips the policy: each named user with usable feedback is trained.
// Several schedulers (one per worker process) may run against one database: a transaction-scoped advisory
// lock serialises cycles, and users already in a queued or running job are left out.
import { and, eq, gt, inArray, or, sql } from 'drizzle-orm';
import { getActiveAdapter } from '../functions/db/adapters.js';
import type { Db } from '../functions/db/database.js';
import { getJob } from '../functions/db/jobs.js';
import { findDueUsers } from '../functions/db/training.js';
import type { TrainingControl, TrainingRun } from '../functions/deps.js';
import { feedback, trainingJobs } from '../schema/tables.js';
import { enqueue, type JobPayload, parsePayload } from './jobs.js';
import { type RecipeOverrides, userRecipe, withOverrides } from './recipe.js';

export interface SchedulerOptions {
  db: Db;
  baseModel: string;
  policy: { intervalS: number; minFeedback: number; cooldownS: number };
  /** Recipe overrides carried by every job this scheduler enqueues. */
  recipe?: RecipeOverrides;
  maxAttempts?: number;
  /** Poll interval while waiting for a cycle's jobs (default 500 ms). */
  waitPollMs?: number;
  /** Called after jobs were enqueued (wake an in-process worker). */
  onEnqueued?: () => void;
  log?: (line: string) => void;
}

type Owner = JobPayload<'train-users'>['users'][number];

/** A usable feedback item trains something: a like, or any item with the user's own correction. */
const usable = or(eq(feedback.rating, 1), sql`${feedback.editedText} is not null`);
const CYCLE_LOCK = 0x7a11_0001;

export class TrainingScheduler implements TrainingControl {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly o: SchedulerOptions) {}

  start(): void {
    const { intervalS } = this.o.policy;
    if (intervalS <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.runCycle({ wait: false }).catch((e) => this.say(`cycle failed: ${(e as Error).message}`));
    }, intervalS * 1000);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private say(line: string): void {
    (this.o.log ?? console.log)(`[scheduler] ${line}`);
  }

  async runCycle(run: TrainingRun): Promise<string[]> {
    const ids = await this.enqueueCycle(run);
    if (ids.length > 0) this.o.onEnqueued?.();
    if (run.wait) await this.waitFor(ids);
    return ids;
  }

  /** Users due for training now, by the policy (usable feedback only), or the named ones with usable data. */
  async dueUsers(run: Pick<TrainingRun, 'app' | 'users'>, db: Db = this.o.db): Promise<Owner[]> {
    if (run.users) {
      const rows = await db
        .selectDistinct({ appId: feedback.appId, userId: feedback.userId })
        .from(feedback)
        .where(
          and(
            run.app === undefined ? undefined : eq(feedback.appId, run.app),
            inArray(feedback.userId, run.users),
            usable,
          ),
        )
        .orderBy(feedback.appId, feedback.userId);
      return rows;
    }
    const { minFeedback, cooldownS } = this.o.policy;
    const candidates = await findDueUsers(db, {
      minFeedback,
      cooldownSeconds: cooldownS,
      ...(run.app ? { appId: run.app } : {}),
    });
    // findDueUsers counts every new item; dislikes without an edit do not train, so count the usable ones.
    const due: Owner[] = [];
    for (const c of candidates) {
      const active = await getActiveAdapter(db, { appId: c.appId, userId: c.userId });
      const [row] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(feedback)
        .where(
          and(
            eq(feedback.appId, c.appId),
            eq(feedback.userId, c.userId),
            usable,
            active?.dataUntil ? gt(feedback.createdAt, active.dataUntil) : undefined,
          ),
        );
      if ((row?.n ?? 0) >= minFeedback) due.push({ appId: c.appId, userId: c.userId });
    }
    return due;
  }

  private async enqueueCycle(run: TrainingRun): Promise<string[]> {
    return this.o.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${CYCLE_LOCK})`);
      const pending = await this.pendingOwners(tx);
      const owners = (await this.dueUsers(run, tx)).filter((u) => !pending.has(key(u)));
      const perJob = withOverrides(userRecipe, this.o.recipe).usersPerJob;
      const ids: string[] = [];
      for (let i = 0; i < owners.length; i += perJob) {
        const users = owners.slice(i, i + perJob);
        const apps = new Set(users.map((u) => u.appId));
        const job = await enqueue(
          tx,
          'train-users',
          { baseModel: this.o.baseModel, users, ...(this.o.recipe ? { recipe: this.o.recipe } : {}) },
          {
            appId: apps.size === 1 ? (users[0]?.appId ?? null) : null,
            ...(this.o.maxAttempts !== undefined ? { maxAttempts: this.o.maxAttempts } : {}),
          },
        );
        ids.push(job.id);
      }
      if (ids.length > 0) this.say(`enqueued ${ids.join(', ')} for ${owners.length} user(s)`);
      return ids;
    });
  }

  /** Users in a train-users job that is queued or running. */
  private async pendingOwners(db: Db): Promise<Set<string>> {
    const rows = await db
      .select({ payload: trainingJobs.payload })
      .from(trainingJobs)
      .where(and(eq(trainingJobs.kind, 'train-users'), inArray(trainingJobs.status, ['queued', 'running'])));
    const out = new Set<string>();
    for (const r of rows) {
      try {
        for (const u of parsePayload('train-users', r.payload).users) out.add(key(u));
      } catch {
        // a malformed payload fails when claimed; it holds no user
      }
    }
    return out;
  }

  /** Resolves when every job has succeeded or failed for good. */
  async waitFor(ids: string[], timeoutMs = 6 * 3600 * 1000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let open = [...ids];
    while (open.length > 0) {
      const rows = await Promise.all(open.map((id) => getJob(this.o.db, id)));
      open = open.filter((_, i) => {
        const s = rows[i]?.status;
        return s === 'queued' || s === 'running';
      });
      if (open.length === 0) return;
      if (Date.now() > until)
        throw new Error(`jobs still unfinished after ${timeoutMs} ms: ${open.join(', ')}`);
      await new Promise((r) => setTimeout(r, this.o.waitPollMs ?? 500));
    }
  }
}

const key = (u: Owner) => `${u.appId}\u0000${u.userId}`;
