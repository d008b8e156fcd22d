// Past one machine: two API processes and two training workers, real processes on one PostgreSQL database and
// one S3 bucket, over loopback. Every job runs exactly once, a user is in one job at a time however many
// processes ask for them, and a promotion or rollback made through one process is served by the other within
// the documented 5 s of its cache.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.js';
import { openPostgres } from '../core/db/postgres.js';
import type { S3Store } from '../core/storage/s3-store.js';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { trainingJobs } from '../schema/tables.js';
import { ADMIN } from './support/platform.js';
import type { PostgresServer } from './support/postgres.js';
import {
  callJson,
  freshDatabase,
  productionPartsEnv,
  seedActiveAdapter,
  startWorkerProcess,
  type WorkerProcess,
  waitFor,
} from './support/processes.js';
import { type S3TestServer, startS3Server } from './support/s3.js';

const ACTIVE_TTL_MS = 5_000;
let pg: PostgresServer | undefined;
let s3: S3TestServer;
let store: S3Store;
let dbUrl: string;
let database: Database;
let apis: RunningServer[] = [];
let workers: WorkerProcess[] = [];
const dirs: string[] = [];

function env(over: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-scale-'));
  dirs.push(dir);
  return {
    TAILOR_DATA_DIR: dir,
    ADMIN_TOKEN: ADMIN,
    ...productionPartsEnv({
      dbUrl,
      s3Endpoint: s3.endpoint,
      bucket: store.bucket,
      credentials: s3.credentials,
    }),
    TAILOR_SCHEDULE: '0',
    ...over,
  };
}

beforeAll(async () => {
  ({ url: dbUrl, server: pg } = await freshDatabase('tailor_scale'));
  database = openPostgres(dbUrl, { max: 2 });
  s3 = await startS3Server();
  store = await s3.newStore();
  // The first process migrates and publishes the base model; the second finds both done.
  apis = [await startServer(env(), { timeoutMs: 120_000 })];
  apis.push(await startServer(env(), { timeoutMs: 120_000 }));
  workers = ['w1', 'w2'].map((w) => startWorkerProcess(w, env({ TAILOR_TRAIN_THREADS: '1' })));
}, 240_000);

afterAll(async () => {
  for (const w of workers) w.kill();
  await Promise.all(apis.map((a) => a.stop()));
  await database?.close();
  await s3?.stop();
  await pg?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('two API processes and two workers on one database and one bucket', () => {
  it('runs every job exactly once, one job per user, and serves promotions and rollbacks everywhere', async () => {
    const [a, b] = apis as [RunningServer, RunningServer];
    const app = await callJson(a.url, 'POST', '/admin/apps', ADMIN, { name: 'scale' });
    const { app_id: appId, api_key: key } = app.json;
    const users = ['ann', 'bo', 'cai'];
    // Each has a version already (the rollback below goes back to it).
    for (const [i, user] of users.entries()) {
      await seedActiveAdapter(database.db, store, { appId, userId: user }, 'v1', 90 + i);
    }
    // Feedback through both processes.
    for (const [u, user] of users.entries()) {
      for (let i = 0; i < 6; i++) {
        const via = (u + i) % 2 ? b : a;
        const text = `${user} read of the lighthouse keeper Ysolde, night ${i}: the lamp of Brennock burned.`;
        const r = await callJson(via.url, 'POST', '/v1/feedback', key, { user, text, rating: 1 });
        expect(r.status).toBe(201);
      }
    }
    // Both processes are asked for overlapping users at once, twice over.
    const runs = await Promise.all([
      callJson(a.url, 'POST', '/admin/training/run', ADMIN, { app: appId, users: ['ann', 'bo'] }),
      callJson(b.url, 'POST', '/admin/training/run', ADMIN, { app: appId, users: ['bo', 'cai'] }),
      callJson(b.url, 'POST', '/admin/training/run', ADMIN, { app: appId, users: ['ann'] }),
      callJson(a.url, 'POST', '/admin/training/run', ADMIN, { app: appId, users: ['cai'] }),
    ]);
    for (const r of runs) expect(r.status).toBe(202);
    const jobIds = runs.flatMap((r) => r.json.jobs.map((j: { id: string }) => j.id));
    expect(jobIds.length).toBeGreaterThan(0);

    const jobs = await waitFor('every job to finish', 200_000, async () => {
      const rows = await database.db.select().from(trainingJobs).where(inArray(trainingJobs.id, jobIds));
      return rows.every((j) => j.status === 'succeeded' || j.status === 'failed') ? rows : undefined;
    }).catch((e) => {
      throw new Error(`${e.message}\n${workers.map((w) => w.output()).join('\n')}`);
    });
    const finishedAt = Date.now();
    for (const j of jobs) {
      expect(j.status, j.error ?? '').toBe('succeeded');
      expect(j.attempts).toBe(1); // taken once, by one worker
    }
    const trained = jobs.flatMap((j) =>
      (j.payload as { users: { userId: string }[] }).users.map((u) => u.userId),
    );
    expect(trained.sort()).toEqual([...users].sort()); // each user in exactly one job
    // Workers log the jobs they took: together, each job once.
    const taken = workers.flatMap((w) => jobIds.filter((id) => w.output().includes(`${id} succeeded`)));
    expect(taken.sort()).toEqual([...jobIds].sort());

    // What the workers promoted is served by both API processes within the cache's TTL.
    const outcomes = jobs.flatMap(
      (j) => (j.result as { users: { user: string; version: string; status: string }[] }).users,
    );
    const promoted = outcomes.find((o) => o.status === 'active');
    expect(promoted, JSON.stringify(outcomes)).toBeDefined();
    const user = promoted?.user as string;
    const served = async (via: RunningServer) =>
      (await callJson(via.url, 'POST', '/v1/generate', key, { user, prompt: 'The lamp', max_tokens: 2 })).json
        .adapter?.version;
    for (const via of [a, b]) {
      await waitFor(`${via.url} to serve the promoted version`, ACTIVE_TTL_MS + 3_000, async () =>
        (await served(via)) === promoted?.version ? true : undefined,
      );
    }
    expect(Date.now() - finishedAt).toBeLessThan(ACTIVE_TTL_MS + 10_000);

    // A rollback made through A is served by B within the TTL.
    const rollback = await callJson(a.url, 'POST', '/admin/adapters/rollback', ADMIN, { app: appId, user });
    const t0 = Date.now();
    expect(rollback.status, rollback.text).toBe(200);
    expect(rollback.json.active.version).toBe('v1');
    expect(await served(a)).toBe('v1'); // at once in the process that made it
    await waitFor('B to serve the rollback', ACTIVE_TTL_MS + 3_000, async () =>
      (await served(b)) === 'v1' ? true : undefined,
    );
    expect(Date.now() - t0).toBeLessThan(ACTIVE_TTL_MS + 5_000);
  }, 300_000);
});
