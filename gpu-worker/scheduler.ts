// Training cycles: every `intervalS` (0 = only on demand) and on demand (`runCycle`, behind
// POST /admin/training/run). A cycle picks the due users (design.md, "Retraining policy": at least
// `minFeedback` new usable feedback items since the active version's data, and nothing trained within the
// cool-down) and enqueues `train-users` jobs that train them together, `usersPerJob` per job. An on-demand
// run naming users skips the policy: each named user with usable feedback is trained.
// Several schedulers (one per worker process) may run against one database: a transaction-scoped advisory
// lock serialises cycles, and users already in a queued or running job are left out.
import type { Db } from '../core/db/database.js';
import { getJob, openJobPayloads } from '../core/db/jobs.js';
import { findDueUsers, usersWithUsableFeedback, withTrainingCycleLock } from '../core/db/training.js';
import type { TrainingControl, TrainingRun } from '../core/training/control.js';
import { enqueue, parsePayload } from '../core/training/jobs.js';
import type { JobPayload, RecipeOverrides } from '../schema/training.js';
import { userRecipe, withOverrides } from './recipe.js';

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
      return usersWithUsableFeedback(db, { userIds: run.users, ...(run.app ? { appId: run.app } : {}) });
    }
    const due = await findDueUsers(db, {
      minFeedback: this.o.policy.minFeedback,
      cooldownSeconds: this.o.policy.cooldownS,
      ...(run.app ? { appId: run.app } : {}),
    });
    return due.map(({ appId, userId }) => ({ appId, userId }));
  }

  private async enqueueCycle(run: TrainingRun): Promise<string[]> {
    return withTrainingCycleLock(this.o.db, async (tx) => {
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
    const out = new Set<string>();
    for (const payload of await openJobPayloads(db, 'train-users')) {
      try {
        for (const u of parsePayload('train-users', payload).users) out.add(key(u));
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
