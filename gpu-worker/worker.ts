// The worker loop: claim a job (FOR UPDATE SKIP LOCKED, with a lease), run its processor, complete or fail it.
// While a job runs, a heartbeat renews the lease and records progress and new log lines; if the lease is lost
// (this worker was too slow and another took the job) the attempt is aborted and its outcome dropped.
// Failures: PermanentJobError and a trainer's permanent TrainerError fail the job for good with its error;
// anything else goes back to the queue until max_attempts. Any number of workers, on any machines, may share
// the queue.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../core/db/database.js';
import { claimJobs, completeJob, failJob, getJob, heartbeatJob } from '../core/db/jobs.js';
import { type UserHasher, userHasher } from '../core/erasure/user-hash.js';
import type { BlobStore } from '../core/storage/store.js';
import { isJobKind, JOB_KINDS, PermanentJobError, parsePayload } from '../core/training/jobs.js';
import type { TrainingJob } from '../schema/tables.js';
import type { JobKind, JobPayload, JobProgress, RecipeOverrides } from '../schema/training.js';
import type { BaseModels } from './base-model.js';
import { importModel } from './import-model.js';
import { trainStyle } from './styles.js';
import type { JobContext } from './train.js';
import { trainUsers } from './train-users.js';
import { TrainerError } from './trainer-process.js';

type Processor<K extends JobKind> = (ctx: JobContext, payload: JobPayload<K>) => Promise<unknown>;

/** Thin: the logic lives in the feature modules. */
const processors: { [K in JobKind]: Processor<K> } = {
  'train-users': trainUsers,
  'train-style': trainStyle,
  'import-model': importModel,
};

export interface WorkerOptions {
  db: Db;
  store: BlobStore;
  baseModels: BaseModels;
  workerId?: string;
  /** Seconds a claim lasts without a heartbeat (default 120). */
  leaseSeconds?: number;
  /** Seconds between heartbeats (default a quarter of the lease). */
  heartbeatSeconds?: number;
  /** Idle wait between polls of an empty queue (default 2000 ms). */
  pollMs?: number;
  /** Delay before a retry (default: the queue's backoff, 5 s doubling). */
  retryDelaySeconds?: number;
  kinds?: JobKind[];
  /** Parent of each attempt's scratch directory (default the OS temp dir). */
  tmpRoot?: string;
  trainer?: { python?: string; device?: string; threads?: number; timeoutS?: number };
  /** Recipe overrides applied over every job's (e.g. tiny step budgets on a CPU-only machine). */
  recipe?: RecipeOverrides;
  /** Progress and log lines (default console.log). */
  log?: (line: string) => void;
  /**
   * The platform's secret, shared with the API processes (TAILOR_URL_SECRET): it keys the hash erased users are
   * known by, so a version of a user erased while it trained is never published (core/db/erasures.ts).
   */
  platformSecret: string;
}

class LeaseLost extends Error {
  override name = 'LeaseLost';
}

export class Worker {
  readonly workerId: string;
  private readonly leaseSeconds: number;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private current: AbortController | null = null;

  private readonly userHash: UserHasher;

  constructor(private readonly o: WorkerOptions) {
    this.userHash = userHasher(o.platformSecret);
    this.workerId = o.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseSeconds = o.leaseSeconds ?? 120;
  }

  private say(line: string): void {
    (this.o.log ?? console.log)(`[worker ${this.workerId}] ${line}`);
  }

  /** Claims at most one job and runs it; returns the job row as it ended (null: nothing to do). */
  async runOnce(): Promise<TrainingJob | null> {
    const [job] = await claimJobs(this.o.db, {
      workerId: this.workerId,
      leaseSeconds: this.leaseSeconds,
      kinds: this.o.kinds ?? JOB_KINDS,
      limit: 1,
    });
    if (!job) return null;
    await this.process(job);
    return getJob(this.o.db, job.id);
  }

  /** Polls the queue until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.say('started');
    this.loop = (async () => {
      while (this.running) {
        let job: TrainingJob | null = null;
        try {
          job = await this.runOnce();
        } catch (e) {
          this.say(`queue error: ${(e as Error).message}`);
        }
        if (!job && this.running) await this.idle(this.o.pollMs ?? 2000);
      }
    })();
  }

  /** Polls now instead of at the end of the idle wait (after an enqueue in this process). */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.current?.abort(new Error('worker stopping'));
    this.wake();
    await this.loop;
    this.loop = null;
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async process(job: TrainingJob): Promise<void> {
    const { db } = this.o;
    const ac = new AbortController();
    this.current = ac;
    const tmpDir = await mkdtemp(join(this.o.tmpRoot ?? tmpdir(), `tailor-${job.id}-`));
    let pendingLog = '';
    let progress: JobProgress | null = null;
    let beating: Promise<void> = Promise.resolve();
    let lastBeat = 0;
    const beat = () => {
      beating = beating.then(async () => {
        if (ac.signal.aborted) return;
        const log = pendingLog;
        pendingLog = '';
        lastBeat = Date.now();
        const held = await heartbeatJob(db, {
          id: job.id,
          workerId: this.workerId,
          leaseSeconds: this.leaseSeconds,
          ...(progress ? { progress: { ...progress } } : {}),
          ...(log ? { log } : {}),
        }).catch((e) => {
          this.say(`${job.id}: heartbeat failed: ${(e as Error).message}`);
          return true; // a database hiccup is not a lost lease; the next beat tries again
        });
        if (!held) ac.abort(new LeaseLost(`lease on ${job.id} lost`));
      });
      return beating;
    };
    const timer = setInterval(beat, 1000 * (this.o.heartbeatSeconds ?? this.leaseSeconds / 4));
    const ctx: JobContext = {
      job,
      db,
      store: this.o.store,
      baseModels: this.o.baseModels,
      signal: ac.signal,
      tmpDir,
      trainer: this.o.trainer ?? {},
      userHash: this.userHash,
      ...(this.o.recipe ? { recipe: this.o.recipe } : {}),
      progress: (p) => {
        progress = p;
        const loss = typeof p.loss === 'number' ? ` loss ${p.loss.toFixed(4)}` : '';
        this.say(`${job.id} ${p.stage} ${p.done}/${p.total}${loss}`);
        if (Date.now() - lastBeat > 1000) void beat();
      },
      log: (line) => {
        pendingLog += `${line}\n`;
      },
    };
    this.say(`${job.id} ${job.kind} attempt ${job.attempts}/${job.maxAttempts}`);
    try {
      if (!isJobKind(job.kind)) throw new PermanentJobError(`unknown job kind ${job.kind}`);
      const payload = parsePayload(job.kind, job.payload);
      const result = await (processors[job.kind] as Processor<typeof job.kind>)(ctx, payload as never);
      clearInterval(timer);
      await beat(); // the last progress and log lines
      if (ac.signal.aborted) throw ac.signal.reason;
      const done = await completeJob(db, { id: job.id, workerId: this.workerId, result, log: pendingLog });
      this.say(done ? `${job.id} succeeded` : `${job.id} finished, but its lease was lost: result dropped`);
    } catch (e) {
      clearInterval(timer);
      await beating;
      const err =
        ac.signal.aborted && ac.signal.reason instanceof LeaseLost ? ac.signal.reason : (e as Error);
      if (err instanceof LeaseLost) {
        this.say(`${job.id}: ${err.message}; another worker may hold it now`);
        return;
      }
      const permanent = err instanceof PermanentJobError || (err instanceof TrainerError && err.permanent);
      const failed = await failJob(db, {
        id: job.id,
        workerId: this.workerId,
        error: err.message || String(err),
        retryable: !permanent,
        ...(this.o.retryDelaySeconds !== undefined ? { retryDelaySeconds: this.o.retryDelaySeconds } : {}),
        log: `${pendingLog}error: ${err.stack ?? err.message}\n`,
      });
      this.say(`${job.id} ${failed?.status === 'queued' ? 'will be retried' : 'failed'}: ${err.message}`);
    } finally {
      clearInterval(timer);
      this.current = null;
      await rm(tmpDir, { recursive: true, force: true });
    }
  }
}
