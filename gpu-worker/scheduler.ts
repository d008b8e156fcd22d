// Training cycles: every `intervalS` (0 = only on demand) and on demand (`runCycle`, behind
// POST /admin/training/run). A cycle picks the due users (the retraining policy: at least `min_feedback` new
// usable feedback items since the active version's data, and nothing trained within the cool-down, each app
// by its own settings over the platform's defaults) and enqueues `train-users` jobs that train them together,
// `usersPerJob` per job. Apps set to `schedule: manual` sit out the scheduled cycles. An on-demand run naming
// users skips the policy: each named user with usable feedback is trained. The same timer applies the apps'
// data retention.
// Several schedulers (one per worker process) may run against one database: a transaction-scoped advisory
// lock serialises cycles, and users already in a queued or running job are left out.
import { readOverrides } from '../core/apps/settings.js';
import { listAppSettings } from '../core/db/app-settings.js';
import type { Db } from '../core/db/database.js';
import { getJob, openJobPayloads } from '../core/db/jobs.js';
import { deleteExpired } from '../core/db/retention.js';
import { findDueUsers, usersWithUsableFeedback, withTrainingCycleLock } from '../core/db/training.js';
import type { TrainingControl, TrainingRun } from '../core/training/control.js';
import { enqueue, parsePayload } from '../core/training/jobs.js';
import type { JobPayload, RecipeOverrides } from '../schema/training.js';
import { userRecipe, withOverrides } from './recipe.js';

export interface SchedulerOptions {
  db: Db;
  baseModel: string;
  /** The platform's defaults; each app's settings override them. */
  policy: { intervalS: number; minFeedback: number; cooldownS: number };
  /** Seconds between retention sweeps (default 3600), whatever the training interval. */
  retentionEveryS?: number;
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
  private timers: ReturnType<typeof setInterval>[] = [];

  constructor(private readonly o: SchedulerOptions) {}

  start(): void {
    if (this.timers.length > 0) return;
    const every = (seconds: number, run: () => Promise<unknown>, what: string) => {
      const t = setInterval(
        () => run().catch((e) => this.say(`${what} failed: ${(e as Error).message}`)),
        seconds * 1000,
      );
      t.unref?.();
      this.timers.push(t);
    };
    if (this.o.policy.intervalS > 0)
      every(this.o.policy.intervalS, () => this.runCycle({ wait: false, scheduled: true }), 'cycle');
    every(this.o.retentionEveryS ?? 3600, () => this.sweepRetention(), 'retention sweep');
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Deletes what each app's retention settings say is too old. */
  async sweepRetention(): Promise<{ app: string; generations: number; feedback: number }[]> {
    const out: { app: string; generations: number; feedback: number }[] = [];
    for (const row of await listAppSettings(this.o.db)) {
      const r = readOverrides(row.settings).retention;
      if (!r?.generations_days && !r?.feedback_days) continue;
      const n = await deleteExpired(this.o.db, {
        appId: row.appId,
        generationsDays: r.generations_days ?? 0,
        feedbackDays: r.feedback_days ?? 0,
      });
      if (n.generations + n.feedback > 0) {
        this.say(
          `retention ${row.appId}: deleted ${n.generations} generation(s), ${n.feedback} feedback item(s)`,
        );
      }
      out.push({ app: row.appId, ...n });
    }
    return out;
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

  /**
   * Users due for training now, each app by its own policy (usable feedback only), or the named ones with
   * usable data. Apps with settings of their own are asked for one by one; all the others in one query.
   */
  async dueUsers(
    run: Pick<TrainingRun, 'app' | 'users' | 'scheduled'>,
    db: Db = this.o.db,
  ): Promise<(Owner & { base: string })[]> {
    const own = new Map((await listAppSettings(db)).map((r) => [r.appId, readOverrides(r.settings)]));
    const baseOf = (appId: string) => own.get(appId)?.model?.base ?? this.o.baseModel;
    if (run.users) {
      const named = await usersWithUsableFeedback(db, {
        userIds: run.users,
        ...(run.app ? { appId: run.app } : {}),
      });
      return named.map((u) => ({ ...u, base: baseOf(u.appId) }));
    }
    const defaults = {
      schedule: 'auto',
      min_feedback: this.o.policy.minFeedback,
      cooldown_s: this.o.policy.cooldownS,
    };
    const due: (Owner & { base: string })[] = [];
    const ask = async (
      policy: typeof defaults,
      base: string,
      where: { appId?: string; excludeAppIds?: string[] },
    ) => {
      if (run.scheduled && policy.schedule === 'manual') return;
      const found = await findDueUsers(db, {
        minFeedback: policy.min_feedback,
        cooldownSeconds: policy.cooldown_s,
        base,
        ...where,
      });
      due.push(...found.map(({ appId, userId }) => ({ appId, userId, base })));
    };
    for (const [appId, overrides] of own)
      if (run.app === undefined || run.app === appId)
        await ask({ ...defaults, ...overrides.training }, baseOf(appId), { appId });
    if (run.app === undefined) await ask(defaults, this.o.baseModel, { excludeAppIds: [...own.keys()] });
    else if (!own.has(run.app)) await ask(defaults, this.o.baseModel, { appId: run.app });
    return due;
  }

  private async enqueueCycle(run: TrainingRun): Promise<string[]> {
    return withTrainingCycleLock(this.o.db, async (tx) => {
      const pending = await this.pendingOwners(tx);
      const owners = (await this.dueUsers(run, tx)).filter((u) => !pending.has(key(u)));
      const perJob = withOverrides(userRecipe, this.o.recipe).usersPerJob;
      const ids: string[] = [];
      // One job trains users of one base (their apps' `model.base`): one trainer process, one model.
      const byBase = new Map<string, Owner[]>();
      for (const { base, ...owner } of owners) byBase.set(base, [...(byBase.get(base) ?? []), owner]);
      for (const [baseModel, ofBase] of byBase)
        for (let i = 0; i < ofBase.length; i += perJob) {
          const users = ofBase.slice(i, i + perJob);
          const apps = new Set(users.map((u) => u.appId));
          const job = await enqueue(
            tx,
            'train-users',
            { baseModel, users, ...(this.o.recipe ? { recipe: this.o.recipe } : {}) },
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
