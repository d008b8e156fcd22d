// The orchestrator end to end on the in-process platform: real PGlite, a MemoryStore, the real trainer as a
// child process (tiny step budgets), the real engine serving what was published.
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getActiveAdapter, insertAdapter } from '../core/db/adapters.js';
import { putAppSettings } from '../core/db/app-settings.js';
import type { Db } from '../core/db/database.js';
import { eraseEndUser } from '../core/db/erase.js';
import { claimJobs, getJob, heartbeatJob } from '../core/db/jobs.js';
import type { BlobStore } from '../core/storage/store.js';
import { enqueue } from '../core/training/jobs.js';
import { randomAdapter } from '../engine/testing.js';
import { adapters, feedback, trainingJobs } from '../schema/tables.js';
import type { AdapterMetrics, RecipeOverrides } from '../schema/training.js';
import { fakePython } from '../test/support/fake-trainer.js';
import { ADMIN, startPlatform, type TestPlatform } from '../test/support/platform.js';
import { BaseModels } from './base-model.js';
import { TrainingScheduler } from './scheduler.js';
import { Worker, type WorkerOptions } from './worker.js';

const TINY: RecipeOverrides = {
  train: { steps: 8, eval_every: 2, batch_size: 4, lr: 1e-2, max_len: 64, patience: 3 },
  dataset: { maxTokens: 48, contextTokens: 16 },
  // lr 1e-2 on these repetitive passages moves general text far more than the default 0.5 %: these tests are
  // about the cycle, so the general-text guard is on only where a test says so.
  guard: { examples: 0 },
};
const admin = { key: ADMIN };
const NAMES = ['Mara Vell', 'Orrin Tash', 'Lise Karrow'];

/** A reader following one serial: recurring names and phrasing a small adapter can pick up. */
function passage(user: number, i: number): string {
  const who = NAMES[user % NAMES.length];
  return `${who} walked down to the harbour of Kell at dawn, chapter ${i}. ${who} said the lanterns of Kell were burning low, and the old ferryman of Kell nodded to ${who} twice.`;
}

let p: TestPlatform;
let appId: string;
let key: string;
let cacheDir: string;
let baseModels: BaseModels;
const lines: string[] = [];

function worker(over: Partial<WorkerOptions> = {}): Worker {
  return new Worker({
    db: p.database.db,
    store: p.store,
    baseModels,
    leaseSeconds: 30,
    pollMs: 50,
    retryDelaySeconds: 0,
    trainer: { device: 'cpu', threads: 1 },
    recipe: TINY,
    log: (l) => lines.push(`${Date.now() % 100000} ${l}`),
    platformSecret: p.services.urlSecret,
    ...over,
  });
}

function scheduler(over: Partial<ConstructorParameters<typeof TrainingScheduler>[0]> = {}) {
  return new TrainingScheduler({
    db: p.database.db,
    baseModel: p.services.baseModelId,
    policy: { intervalS: 0, minFeedback: 4, cooldownS: 3600 },
    waitPollMs: 50,
    log: (l) => lines.push(l),
    ...over,
  });
}

async function like(user: string, text: string, app = key) {
  const r = await p.call('POST', '/v1/feedback', { key: app, body: { user, text, rating: 1 } });
  expect(r.status).toBe(201);
}

async function rowsOf(db: Db, user: string) {
  return db
    .select()
    .from(adapters)
    .where(and(eq(adapters.appId, appId), eq(adapters.userId, user)))
    .orderBy(adapters.createdAt);
}

beforeAll(async () => {
  p = await startPlatform();
  ({ app_id: appId, api_key: key } = await p.newApp('orchestrator'));
  cacheDir = mkdtempSync(join(tmpdir(), 'tailor-worker-cache-'));
  baseModels = new BaseModels({ db: p.database.db, store: p.store, cacheDir });
  for (const [u, name] of ['ava', 'ben', 'cy'].entries()) {
    for (let i = 0; i < 6; i++) await like(name, passage(u, i));
  }
  // dislikes do not count towards the policy
  for (let i = 0; i < 6; i++) {
    await p.call('POST', '/v1/feedback', { key, body: { user: 'dan', text: passage(0, i), rating: -1 } });
  }
  await like('eve', passage(1, 0)); // too little
}, 60_000);
afterAll(() => {
  if (process.env.SHOW_LINES) console.log(lines.join('\n'));
  return p.close();
});

describe('due users', () => {
  it('follows the policy: enough usable feedback since the active data, outside the cool-down', async () => {
    const s = scheduler();
    const due = await s.dueUsers({ app: appId });
    expect(due.map((u) => u.userId)).toEqual(['ava', 'ben', 'cy']);
    // a named run skips the policy, but still needs usable data
    const named = await s.dueUsers({ app: appId, users: ['eve', 'dan', 'nobody'] });
    expect(named.map((u) => u.userId)).toEqual(['eve']);
    // a version trained on all of ava's data: nothing new since, and within the cool-down
    const latest = (await p.database.db.select().from(feedback).where(eq(feedback.userId, 'ava'))).at(-1);
    await p.database.db
      .transaction(async (tx) => {
        await insertAdapter(
          tx,
          { appId, userId: 'ava' },
          {
            version: 'probe',
            storagePrefix: 'adapters/probe/',
            baseModelId: 'x',
            status: 'rejected',
            dataUntil: latest?.createdAt ?? null,
          },
        );
        expect((await s.dueUsers({ app: appId }, tx)).map((u) => u.userId)).toEqual(['ben', 'cy']);
        tx.rollback();
      })
      .catch((e) => {
        if (!/rollback/i.test(String(e))) throw e;
      });
  });

  it("trains on the app's base (settings model.base): a version on another base leaves its user due there", async () => {
    const s = scheduler();
    const latest = (await p.database.db.select().from(feedback).where(eq(feedback.userId, 'ava'))).at(-1);
    await p.database.db
      .transaction(async (tx) => {
        // ava's active version has all her data, on the base the app used before
        await insertAdapter(
          tx,
          { appId, userId: 'ava' },
          {
            version: 'on-old-base',
            storagePrefix: 'adapters/old/',
            baseModelId: 'brown-4m',
            status: 'candidate',
            dataUntil: latest?.createdAt ?? null,
          },
        );
        // promoted a week ago: outside the cool-down
        await tx
          .update(adapters)
          .set({ status: 'active', createdAt: new Date(Date.now() - 7 * 24 * 3600 * 1000) })
          .where(eq(adapters.version, 'on-old-base'));
        expect((await s.dueUsers({ app: appId }, tx)).map((u) => [u.userId, u.base])).toEqual([
          ['ben', 'brown-4m'],
          ['cy', 'brown-4m'],
        ]);
        await putAppSettings(tx, appId, { model: { base: 'tiny-qwen2' } });
        expect((await s.dueUsers({ app: appId }, tx)).map((u) => [u.userId, u.base])).toEqual([
          ['ava', 'tiny-qwen2'],
          ['ben', 'tiny-qwen2'],
          ['cy', 'tiny-qwen2'],
        ]);
        tx.rollback();
      })
      .catch((e) => {
        if (!/rollback/i.test(String(e))) throw e;
      });
  });
});

describe('training cycles', () => {
  it('trains all due users together in one job, publishes each package, then promotes', async () => {
    const w = worker();
    w.start();
    try {
      const s = scheduler({
        onEnqueued: () => w.wake(),
        policy: { intervalS: 0, minFeedback: 4, cooldownS: 3600 },
      });
      const ids = await s.runCycle({ app: appId, wait: true });
      expect(ids).toHaveLength(1);
      const job = await getJob(p.database.db, ids[0] as string);
      expect(job?.status).toBe('succeeded');
      const result = job?.result as { users: { user: string; status: string; version: string }[] };
      expect(result.users.map((u) => [u.user, u.status])).toEqual([
        ['ava', 'active'],
        ['ben', 'active'],
        ['cy', 'active'],
      ]);
      expect(job?.progress).toMatchObject({ stage: 'done', done: 3, total: 3 });
      expect(job?.log).toMatch(/train-lora/);
      for (const u of result.users) {
        const active = await getActiveAdapter(p.database.db, { appId, userId: u.user });
        expect(active?.version).toBe(u.version);
        expect(u.version).toMatch(/^v\d{8}-\d{6}-[0-9a-f]{6}$/);
        const prefix = `adapters/${appId}/${u.user}/${u.version}/`;
        expect(active?.storagePrefix).toBe(prefix);
        expect((await p.store.list(prefix)).map((b) => b.key.slice(prefix.length))).toEqual([
          'adapter_config.json',
          'adapter_model.safetensors',
          'tailor.json',
        ]);
        const manifest = JSON.parse(
          new TextDecoder().decode((await p.store.get(`${prefix}tailor.json`)) ?? undefined),
        );
        expect(manifest.base_model.id).toBe(p.services.baseModelId);
        expect(manifest.base_model.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(manifest.data_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(active?.metrics).toMatchObject({
          baseline: 'base',
          best_step: expect.any(Number),
          feedback: { likes: 6 },
        });
        const m = active?.metrics as Record<string, number> & {};
        expect(m.heldout_loss_after).toBeLessThan(m.heldout_loss_before as number);
        expect(active?.dataUntil).toBeInstanceOf(Date);
      }
      // the API serves the new version
      const g = await p.call('POST', '/v1/generate', {
        key,
        body: { user: 'ava', prompt: 'Mara', max_tokens: 4 },
      });
      expect(g.json.adapter.version).toBe(result.users[0]?.version);
      // nobody is due any more (no new data, cool-down)
      expect(await s.runCycle({ app: appId, wait: true })).toEqual([]);
      expect(lines.some((l) => /job_\S+ train \d+\/8 loss/.test(l))).toBe(true);
    } finally {
      await w.stop();
    }
  }, 60_000);

  it('the eval gate keeps the active version when the new one does not beat it', async () => {
    const before = await getActiveAdapter(p.database.db, { appId, userId: 'ava' });
    for (let i = 6; i < 10; i++) await like('ava', passage(0, i));
    const w = worker({ recipe: { ...TINY, train: { ...TINY.train, lr: 1e-9 } } });
    w.start();
    try {
      const s = scheduler({ onEnqueued: () => w.wake() });
      const [id] = await s.runCycle({ app: appId, users: ['ava'], wait: true });
      const job = await getJob(p.database.db, id as string);
      const [outcome] = (job?.result as { users: Record<string, unknown>[] } | undefined)?.users ?? [];
      expect(outcome).toMatchObject({
        user: 'ava',
        status: 'rejected',
        baseline: `active:${before?.version}`,
      });
      const active = await getActiveAdapter(p.database.db, { appId, userId: 'ava' });
      expect(active?.version).toBe(before?.version);
      const rejected = (await rowsOf(p.database.db, 'ava')).at(-1);
      expect(rejected?.status).toBe('rejected');
      const m = rejected?.metrics as Record<string, number>;
      expect(m.baseline_heldout_loss).toBeLessThan(m.heldout_loss_after as number);
      expect(m.heldout_loss_after).toBeCloseTo(m.heldout_loss_before as number, 4);
      // the rejected package is complete too (an operator may still promote it)
      expect(await p.store.list(rejected?.storagePrefix as string)).toHaveLength(3);
    } finally {
      await w.stop();
    }
  }, 60_000);

  it("the general-text guard: a version records its and the base model's general loss, and keeps within it", async () => {
    const { app_id: app, api_key: appKey } = await p.newApp('guarded');
    for (let i = 0; i < 6; i++) await like('gus', passage(2, i), appKey);
    const w = worker({
      recipe: { ...TINY, guard: { examples: 8 }, train: { ...TINY.train, general_tolerance: 0 } },
    });
    w.start();
    try {
      const s = scheduler({ onEnqueued: () => w.wake() });
      await s.runCycle({ app, users: ['gus'], wait: true });
      const [row] = await p.database.db.select().from(adapters).where(eq(adapters.appId, app));
      const m = row?.metrics as AdapterMetrics;
      expect(m).toMatchObject({ guard_examples: 8, replay_examples: 24, gate: { general_tolerance: 0 } });
      expect(m.general_loss_before).toBeGreaterThan(0);
      // tolerance 0: the kept step (if any) predicts general text no worse than the base model
      expect(m.general_loss_after).toBeLessThanOrEqual(m.general_loss_before as number);
      expect(m.curve?.general?.length).toBeGreaterThan(0);
      expect(row?.status).toBe((m.best_step ?? 0) > 0 ? 'active' : 'rejected');
    } finally {
      await w.stop();
    }
  }, 60_000);

  it('prefix tuning: a PEFT prefix version, served, and the baseline a later LoRA must beat', async () => {
    const { app_id: app, api_key: appKey } = await p.newApp('prefixed');
    for (let i = 0; i < 6; i++) await like('pia', passage(1, i), appKey);
    const owner = { appId: app, userId: 'pia' };
    const w = worker({ recipe: { ...TINY, method: 'prefix', prefix: { tokens: 8, lr: 3e-2 } } });
    w.start();
    try {
      await scheduler({ onEnqueued: () => w.wake() }).runCycle({ app, users: ['pia'], wait: true });
    } finally {
      await w.stop();
    }
    const active = await getActiveAdapter(p.database.db, owner);
    expect(active).toBeDefined();
    const config = JSON.parse(
      new TextDecoder().decode(
        (await p.store.get(`${active?.storagePrefix}adapter_config.json`)) ?? undefined,
      ),
    );
    expect(config).toMatchObject({
      peft_type: 'PREFIX_TUNING',
      num_virtual_tokens: 8,
      prefix_projection: false,
    });
    const m = active?.metrics as AdapterMetrics;
    expect(m.recipe).toMatchObject({ method: 'prefix', prefix_tokens: 8, lr: 3e-2 });
    expect(m.heldout_loss_after).toBeLessThan(m.heldout_loss_before as number);

    // The API serves it: the reader's own text scores better with it than with the base model alone.
    const text = passage(1, 9);
    const score = async (adapter: 'auto' | 'none') =>
      (await p.call('POST', '/v1/score', { key: appKey, body: { user: 'pia', texts: [text], adapter } }))
        .json;
    const [mine, base] = [await score('auto'), await score('none')];
    expect(mine.adapter.version).toBe(active?.version);
    expect(mine.results[0].mean_nll).toBeLessThan(base.results[0].mean_nll);
    const g = await p.call('POST', '/v1/generate', {
      key: appKey,
      body: { user: 'pia', prompt: 'Orrin', max_tokens: 4 },
    });
    expect(g.status).toBe(200);
    expect(g.json.adapter.version).toBe(active?.version);

    // A LoRA cycle next: the prefix version is its baseline, evaluated by the trainer as a prefix.
    for (let i = 6; i < 10; i++) await like('pia', passage(1, i), appKey);
    const w2 = worker();
    w2.start();
    try {
      const s = scheduler({ onEnqueued: () => w2.wake() });
      const [id] = await s.runCycle({ app, users: ['pia'], wait: true });
      const job = await getJob(p.database.db, id as string);
      expect(job?.status).toBe('succeeded');
      const [outcome] = (job?.result as { users: Record<string, unknown>[] } | undefined)?.users ?? [];
      expect(outcome).toMatchObject({ user: 'pia', baseline: `active:${active?.version}` });
      const rows = await p.database.db.select().from(adapters).where(eq(adapters.appId, app));
      const latest = rows.find((r) => r.version !== active?.version);
      expect((latest?.metrics as AdapterMetrics | undefined)?.baseline_heldout_loss).toBeGreaterThan(0);
    } finally {
      await w2.stop();
    }
  }, 90_000);

  it('a crash while publishing leaves the old version active and nothing referencing the new files', async () => {
    const before = await getActiveAdapter(p.database.db, { appId, userId: 'ben' });
    const failing: BlobStore = Object.create(p.store);
    failing.put = async (k, bytes, opts) => {
      if (k.endsWith('adapter_model.safetensors')) throw new Error('storage went away');
      return p.store.put(k, bytes, opts);
    };
    const w = worker({ store: failing });
    const job = await enqueue(
      p.database.db,
      'train-users',
      { baseModel: p.services.baseModelId, users: [{ appId, userId: 'ben' }] },
      { maxAttempts: 1 },
    );
    const done = await w.runOnce();
    // The last attempt ends with ben's failure recorded (ben is due again next cycle).
    expect(done).toMatchObject({ id: job.id, status: 'succeeded' });
    expect(done?.result).toMatchObject({
      users: [],
      failed: [{ app: appId, user: 'ben', reason: expect.stringContaining('storage went away') }],
    });
    expect((await getActiveAdapter(p.database.db, { appId, userId: 'ben' }))?.version).toBe(before?.version);
    const partial = (await p.store.list(`adapters/${appId}/ben/`)).filter(
      (b) => !b.key.startsWith(before?.storagePrefix as string),
    );
    expect(partial.map((b) => b.key.split('/').at(-1))).toEqual(['adapter_config.json']);
    const prefix = partial[0]?.key.replace(/adapter_config\.json$/, '');
    const refs = await p.database.db
      .select()
      .from(adapters)
      .where(eq(adapters.storagePrefix, prefix as string));
    expect(refs).toEqual([]);
    expect((await rowsOf(p.database.db, 'ben')).map((r) => r.version)).toEqual([before?.version]);
  }, 60_000);

  it("one user's failed publish is theirs alone: the others publish, a retry takes only them", async () => {
    const failing: BlobStore = Object.create(p.store);
    let failures = 0;
    failing.put = async (k, bytes, opts) => {
      if (k.includes(`/${appId}/cy/`) && failures++ < 1) throw new Error('this key went away');
      return p.store.put(k, bytes, opts);
    };
    const w = worker({ store: failing });
    const job = await enqueue(
      p.database.db,
      'train-users',
      {
        baseModel: p.services.baseModelId,
        users: [
          { appId, userId: 'cy' },
          { appId, userId: 'eve' },
        ],
      },
      { maxAttempts: 2 },
    );
    const first = await w.runOnce();
    expect(first).toMatchObject({ id: job.id, status: 'queued' });
    expect(first?.error).toContain(`${appId}/cy: Error: this key went away`);
    const eve = await getActiveAdapter(p.database.db, { appId, userId: 'eve' });
    expect(eve?.jobId).toBe(job.id); // published by the first attempt in spite of cy
    await p.database.db.execute(sql`update training_jobs set run_after = now() where id = ${job.id}`);
    const second = await w.runOnce();
    expect(second).toMatchObject({ id: job.id, status: 'succeeded' });
    expect(second?.result).toMatchObject({
      users: [{ user: 'cy' }],
      skipped: [{ user: 'eve', reason: 'published by an earlier attempt of this job' }],
      failed: [],
    });
  }, 90_000);

  it('publishes nothing for a user erased while the job trained them', async () => {
    for (let i = 0; i < 4; i++) await like('fay', passage(2, i));
    let erased = false;
    const eraseOnce = async () => {
      if (erased) return;
      erased = true;
      await eraseEndUser(p.database.db, appId, 'fay', { userHash: await p.services.userHash(appId, 'fay') });
    };
    // The erasure lands while the job is under way: at its first storage read or write (cy's baseline, or
    // cy's files, published before fay's turn).
    const erasing: BlobStore = Object.create(p.store);
    erasing.get = async (k) => {
      await eraseOnce();
      return p.store.get(k);
    };
    erasing.put = async (k, bytes, opts) => {
      await eraseOnce();
      return p.store.put(k, bytes, opts);
    };
    const w = worker({ store: erasing });
    const job = await enqueue(
      p.database.db,
      'train-users',
      {
        baseModel: p.services.baseModelId,
        users: [
          { appId, userId: 'cy' },
          { appId, userId: 'fay' },
        ],
      },
      { maxAttempts: 1 },
    );
    const done = await w.runOnce();
    expect(erased).toBe(true);
    expect(done).toMatchObject({ id: job.id, status: 'succeeded' });
    expect(done?.result).toMatchObject({ users: [{ user: 'cy' }], failed: [] });
    expect(await rowsOf(p.database.db, 'fay')).toEqual([]);
    expect(await p.store.list(`adapters/${appId}/fay/`)).toEqual([]);
    expect((await getJob(p.database.db, job.id))?.log).toContain(
      'a user was erased or opted out while this job trained them',
    );
  }, 90_000);

  it('publishes nothing trained on an erased user for the same id re-created meanwhile', async () => {
    for (let i = 0; i < 4; i++) await like('gil', passage(3, i));
    let erased = false;
    // At the job's first storage read or write: the user is erased (as the API does, files and all), then the
    // same id comes back with new feedback of its own, so the user is trainable again when gil's turn comes.
    const eraseAndReturn = async () => {
      if (erased) return;
      erased = true;
      expect((await p.call('DELETE', '/v1/users/gil', { key })).status).toBe(204);
      for (let i = 0; i < 4; i++) await like('gil', `a new reader called gil, page ${i}`);
    };
    const erasing: BlobStore = Object.create(p.store);
    erasing.get = async (k) => {
      await eraseAndReturn();
      return p.store.get(k);
    };
    erasing.put = async (k, bytes, opts) => {
      await eraseAndReturn();
      return p.store.put(k, bytes, opts);
    };
    const w = worker({ store: erasing });
    const job = await enqueue(
      p.database.db,
      'train-users',
      {
        baseModel: p.services.baseModelId,
        users: [
          { appId, userId: 'cy' },
          { appId, userId: 'gil' },
        ],
      },
      { maxAttempts: 1 },
    );
    const done = await w.runOnce();
    expect(erased).toBe(true);
    expect(done).toMatchObject({ id: job.id, status: 'succeeded' });
    expect(done?.result).toMatchObject({ users: [{ user: 'cy' }], failed: [] });
    // The returning gil has feedback, but no version, and no file, from the job that read the erased one's.
    expect(await rowsOf(p.database.db, 'gil')).toEqual([]);
    expect(await p.store.list(`adapters/${appId}/gil/`)).toEqual([]);
    expect((await getJob(p.database.db, job.id))?.log).toContain(
      'a user was erased while this job trained them',
    );
  }, 90_000);

  it('POST /admin/training/run {wait: true} answers with the finished jobs', async () => {
    const w = worker();
    w.start();
    const s = scheduler({ onEnqueued: () => w.wake() });
    p.services.training = s;
    try {
      const r = await p.call('POST', '/admin/training/run', {
        ...admin,
        body: { app: appId, users: ['cy', 'eve'], wait: true },
      });
      expect(r.status).toBe(200);
      expect(r.json.jobs).toHaveLength(1);
      expect(r.json.jobs[0]).toMatchObject({ kind: 'train-users', status: 'succeeded', app_id: appId });
      expect(r.json.jobs[0].result.users.map((u: { user: string }) => u.user)).toEqual(['cy', 'eve']);
      const nowait = await p.call('POST', '/admin/training/run', { ...admin, body: { users: ['nobody'] } });
      expect(nowait.status).toBe(202);
      expect(nowait.json.jobs).toEqual([]);
    } finally {
      p.services.training = undefined;
      await w.stop();
    }
  }, 60_000);
});

describe('the queue', () => {
  it('a job whose worker died is taken by another worker once its lease has expired', async () => {
    const db = p.database.db;
    const job = await enqueue(db, 'train-users', {
      baseModel: p.services.baseModelId,
      users: [{ appId, userId: 'dan' }], // only dislikes: skipped, no trainer needed
    });
    const [held] = await claimJobs(db, { workerId: 'dead-worker', leaseSeconds: 1, limit: 1 });
    expect(held?.id).toBe(job.id);
    expect(await worker().runOnce()).toBeNull(); // still leased
    await new Promise((r) => setTimeout(r, 1200));
    const w = worker();
    const done = await w.runOnce();
    expect(done).toMatchObject({ id: job.id, status: 'succeeded', attempts: 2 });
    expect((done?.result as { skipped: { user: string }[] } | undefined)?.skipped[0]?.user).toBe('dan');
    // the dead worker, were it to wake up, has lost the job
    expect(await heartbeatJob(db, { id: job.id, workerId: 'dead-worker', leaseSeconds: 30 })).toBe(false);
  });

  it('a worker that lost its lease stops the attempt (the trainer is killed) and publishes nothing', async () => {
    const db = p.database.db;
    const job = await enqueue(db, 'train-users', {
      baseModel: p.services.baseModelId,
      users: [{ appId, userId: 'ava' }],
    });
    let stolen: Promise<void> | null = null;
    const w = worker({
      heartbeatSeconds: 0.2,
      log: (l) => {
        if (!stolen && / preparing /.test(l)) {
          stolen = db
            .update(trainingJobs)
            .set({ lockedBy: 'another-worker' })
            .where(eq(trainingJobs.id, job.id))
            .then(() => undefined);
        }
      },
    });
    const t0 = Date.now();
    const done = await w.runOnce();
    expect(stolen).not.toBeNull();
    expect(done).toMatchObject({ id: job.id, status: 'running', lockedBy: 'another-worker' });
    expect(await db.select().from(adapters).where(eq(adapters.jobId, job.id))).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 30_000);

  it('a job that cannot succeed fails for good with its error, without retries', async () => {
    const db = p.database.db;
    const job = await enqueue(
      db,
      'train-style',
      { baseModel: p.services.baseModelId, appId, styleId: 'noir', source: { genre: 'no_such_genre' } },
      { maxAttempts: 3 },
    );
    const done = await worker().runOnce();
    expect(done).toMatchObject({ id: job.id, status: 'failed', attempts: 1 });
    expect(done?.error).toMatch(/no Brown genre "no_such_genre"/);
    expect(await worker().runOnce()).toBeNull();
    // a payload that breaks the registry's schema is permanent too
    await db.execute(
      sql`insert into training_jobs (id, kind, payload) values ('job_bad', 'train-users', '{"users": []}'::jsonb)`,
    );
    expect(await worker().runOnce()).toMatchObject({ id: 'job_bad', status: 'failed', attempts: 1 });
    expect((await getJob(db, 'job_bad'))?.error).toMatch(/invalid train-users payload/);
  });

  it('a retryable failure is retried up to max_attempts, then failed', async () => {
    const db = p.database.db;
    const broken: BlobStore = Object.create(p.store);
    broken.get = async (k) => {
      if (k.endsWith('model.safetensors')) throw new Error('connection reset');
      return p.store.get(k);
    };
    const fresh = new BaseModels({
      db,
      store: broken,
      cacheDir: mkdtempSync(join(tmpdir(), 'tailor-empty-')),
    });
    const job = await enqueue(
      db,
      'train-users',
      { baseModel: p.services.baseModelId, users: [{ appId, userId: 'ava' }] },
      { maxAttempts: 3 },
    );
    const w = worker({ store: broken, baseModels: fresh });
    expect(await w.runOnce()).toMatchObject({
      id: job.id,
      status: 'queued',
      attempts: 1,
      error: 'connection reset',
    });
    expect(await w.runOnce()).toMatchObject({ status: 'queued', attempts: 2 });
    expect(await w.runOnce()).toMatchObject({ status: 'failed', attempts: 3, error: 'connection reset' });
    expect(await w.runOnce()).toBeNull();
  });
});

describe('a trainer that crashes or hangs', () => {
  it('fails the job with the reason after its attempts; the active adapter stays', async () => {
    const db = p.database.db;
    const user = { appId, userId: 'ben' };
    const before = await getActiveAdapter(db, user);
    for (const [python, reason] of [
      [fakePython('echo "CUDA error: an illegal memory access" >&2; exit 1'), /illegal memory access/],
      [fakePython('exec sleep 600'), /time limit of 1 s/],
    ] as const) {
      const job = await enqueue(
        db,
        'train-users',
        { baseModel: p.services.baseModelId, users: [user] },
        { maxAttempts: 2 },
      );
      const w = worker({ trainer: { python, timeoutS: 1 } });
      expect(await w.runOnce()).toMatchObject({ id: job.id, status: 'queued', attempts: 1 });
      const done = await w.runOnce();
      expect(done).toMatchObject({ id: job.id, status: 'failed', attempts: 2 });
      expect(done?.error).toMatch(reason);
      expect((await getActiveAdapter(db, user))?.version).toBe(before?.version);
      expect(await db.select().from(adapters).where(eq(adapters.jobId, job.id))).toEqual([]);
    }
  }, 60_000);
});

describe('style adapters', () => {
  it('trains a style from texts, imports a PEFT dir, and both change what generate and score give', async () => {
    const texts = Array.from(
      { length: 8 },
      (_, i) => `Arr, said the pirate ${i}, the sea be wide and the rum be gone, arr.`,
    );
    const queued = await p.call('POST', `/admin/apps/${appId}/styles`, {
      ...admin,
      body: { style: 'pirate', texts },
    });
    expect(queued.status).toBe(202);
    expect(queued.json.job).toMatchObject({ kind: 'train-style', status: 'queued' });
    const done = await worker().runOnce();
    expect(done).toMatchObject({ id: queued.json.job.id, status: 'succeeded' });
    const trained = await getActiveAdapter(p.database.db, { appId, styleId: 'pirate' });
    expect(trained?.storagePrefix).toMatch(new RegExp(`^styles/${appId}/pirate/v`));
    expect(trained?.metrics).toMatchObject({ source: { texts: 8 }, baseline: 'base' });

    const score = async (styles: { id: string; weight: number }[]) =>
      (
        await p.call('POST', '/v1/score', {
          key,
          body: { user: 'zed', texts: ['Arr, said the pirate.'], styles },
        })
      ).json;
    const plain = await score([]);
    const styled = await score([{ id: 'pirate', weight: 1 }]);
    expect(styled.results[0].mean_nll).toBeLessThan(plain.results[0].mean_nll);

    // import: a PEFT directory (here a random one in PEFT's layout), through the admin API as the CLI sends it
    const dir = join(cacheDir, 'peft-import');
    await mkdir(dir, { recursive: true });
    const files = randomAdapter(p.engine.model(p.services.baseModelId).shape, {
      r: 4,
      alpha: 8,
      targets: ['q_proj', 'v_proj'],
      seed: 7,
      scale: 0.3,
    });
    await writeFile(join(dir, 'adapter_config.json'), files.config);
    await writeFile(join(dir, 'adapter_model.safetensors'), files.weights);
    const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
    const imported = await p.call('POST', `/admin/apps/${appId}/styles/import`, {
      ...admin,
      body: { style: 'storm', adapter_config: b64(files.config), adapter_model: b64(files.weights) },
    });
    expect(imported.status).toBe(201);
    expect(imported.json.adapter).toMatchObject({ kind: 'style', style: 'storm', status: 'active' });
    const gen = async (styles: { id: string; weight: number }[]) =>
      (
        await p.call('POST', '/v1/generate', {
          key,
          body: { user: 'zed', prompt: 'The night was', max_tokens: 24, seed: 3, temperature: 0, styles },
        })
      ).json;
    const base = await gen([]);
    const stormy = await gen([{ id: 'storm', weight: 1 }]);
    expect(stormy.text).not.toBe(base.text);
    const both = await gen([
      { id: 'storm', weight: 1 },
      { id: 'pirate', weight: 1 },
    ]);
    expect(both.styles.map((s: { id: string }) => s.id)).toEqual(['storm', 'pirate']);

    // an adapter made for another model shape is refused, naming the problem
    const wrong = JSON.stringify({ ...JSON.parse(new TextDecoder().decode(files.config)), r: 5 });
    const refused = await p.call('POST', `/admin/apps/${appId}/styles/import`, {
      ...admin,
      body: {
        style: 'storm',
        adapter_config: b64(new TextEncoder().encode(wrong)),
        adapter_model: b64(files.weights),
      },
    });
    expect(refused.status).toBe(422);
    expect(refused.json.error.message).toMatch(/shape/);
  }, 60_000);
});
